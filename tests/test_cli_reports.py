"""Report options end to end: personal data masked by default, the support bundle, `diff`,
and JUnit that agrees with --fail-on."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from scim_doctor.demo.server import DemoServer

TOKEN = "reports-canary-token-4e8d1f0b2a93"
SEEDED_EMAIL = "ada.lovelace@example.com"


def args(server: DemoServer, ca: Path, *extra: str) -> list[str]:
    return [
        "check",
        server.base_url,
        "--cacert",
        str(ca),
        "--resolve",
        server.resolve_pin,
        "--timeout",
        "2",
        "-v",
        *extra,
    ]


def test_personal_data_from_sampled_users_is_masked_unless_show_pii(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        masked = run_cli(*args(server, ca, "--format", "json"), env={"SCIM_TOKEN": TOKEN})
        shown = run_cli(
            *args(server, ca, "--format", "json", "--show-pii"), env={"SCIM_TOKEN": TOKEN}
        )
    assert SEEDED_EMAIL in shown.stdout, "the demo's seeded users should appear with --show-pii"
    assert SEEDED_EMAIL not in masked.stdout
    assert "a***@e***" in masked.stdout
    assert masked.exit_code == shown.exit_code == 0


def test_the_support_bundle_holds_every_format_and_neither_token_nor_personal_data(
    run_cli: Any, tmp_path: Path
) -> None:
    bundle = tmp_path / "support.zip"
    with DemoServer(TOKEN, fault="expired_cert") as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(*args(server, ca, "--bundle", str(bundle)), env={"SCIM_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert f"wrote {bundle}" in result.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        contents = b"".join(archive.read(name) for name in names)
    assert {"README.txt", "report.json", "report.txt", "report.md"} <= names
    assert TOKEN.encode() not in contents
    assert b"tls.cert_expired" in contents


def test_diff_names_the_certificate_that_expired_and_exits_1(run_cli: Any, tmp_path: Path) -> None:
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    for fault, path in ((None, before), ("expired_cert", after)):
        with DemoServer(TOKEN, fault=fault) as server:
            ca = server.write_ca(tmp_path)
            run_cli(
                *args(server, ca, "--format", "json", "-o", str(path)), env={"SCIM_TOKEN": TOKEN}
            )
    result = run_cli("diff", str(before), str(after), "--format", "json")
    assert result.exit_code == 1
    changes = json.loads(result.stdout)
    assert "tls.cert_expired" in json.dumps(changes)
    same = run_cli("diff", str(before), str(before))
    assert same.exit_code == 0


def test_junit_marks_a_warning_as_failure_only_under_fail_on_warn(
    run_cli: Any, tmp_path: Path
) -> None:
    lenient, strict = tmp_path / "lenient.xml", tmp_path / "strict.xml"
    with DemoServer(TOKEN, fault="expires_soon") as server:
        ca = server.write_ca(tmp_path)
        run_cli(*args(server, ca, "--report", f"junit={lenient}"), env={"SCIM_TOKEN": TOKEN})
        run_cli(
            *args(server, ca, "--report", f"junit={strict}", "--fail-on", "warn"),
            env={"SCIM_TOKEN": TOKEN},
        )

    def failures(path: Path) -> int:
        return path.read_text().count("<failure")

    assert failures(lenient) == 0
    assert failures(strict) == 1


def test_strict_mode_runs_every_validator_strictly_and_a_correct_server_still_passes(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            *args(server, ca, "--strict", "--format", "json"), env={"SCIM_TOKEN": TOKEN}
        )
    statuses = {c["id"]: c["status"] for c in json.loads(result.stdout)["checks"]}
    assert result.exit_code == 0, statuses
    assert statuses["users"] == statuses["discovery"] == statuses["errors"] == "pass"


def test_a_small_max_body_cuts_the_answer_and_says_so(run_cli: Any, tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        result = run_cli(
            *args(server, ca, "--max-body", "1k", "--format", "json"), env={"SCIM_TOKEN": TOKEN}
        )
    codes = {f["code"] for c in json.loads(result.stdout)["checks"] for f in c["findings"]}
    assert "http.body_too_large" in codes


def test_canary_token_and_personal_data_appear_in_no_format_nor_the_bundle(
    run_cli: Any, tmp_path: Path
) -> None:
    """Given a server whose users carry personal data, every report format (verbose text with
    the exchanges, JSON, HTML, JUnit, Markdown, OpenMetrics, Nagios) and the bundle hold
    neither it nor the token."""
    formats = ("json", "html", "junit", "markdown", "openmetrics", "nagios")
    outputs = {fmt: tmp_path / f"report.{fmt}" for fmt in formats}
    bundle = tmp_path / "bundle.zip"
    with DemoServer(TOKEN) as server:
        ca = server.write_ca(tmp_path)
        extra = [item for fmt, path in outputs.items() for item in ("--report", f"{fmt}={path}")]
        result = run_cli(
            *args(server, ca, *extra, "--bundle", str(bundle)), env={"SCIM_TOKEN": TOKEN}
        )
    assert result.exit_code == 0
    texts = [result.stdout, result.stderr, *(p.read_text() for p in outputs.values())]
    with zipfile.ZipFile(bundle) as archive:
        texts += [archive.read(name).decode() for name in archive.namelist()]
    for text in texts:
        assert TOKEN not in text
        for personal in (SEEDED_EMAIL, "ada.lovelace", "Lovelace"):
            assert personal not in text, personal
