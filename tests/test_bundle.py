"""The support bundle: every format in one zip, safe to attach to a ticket as it is."""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import sys
import zipfile
from pathlib import Path

import pytest

from scim_doctor.core import findings
from scim_doctor.core.errors import InputError
from scim_doctor.core.model import CheckResult, Exchange, Report, Status, TargetInfo
from scim_doctor.core.secrets import Secret
from scim_doctor.reporters.bundle import command_line, write_bundle

CANARY_TOKEN = "canary_bundle_7f3Kq9Zx81mWpL2vRt5Y"  # `_` is escaped in Markdown
CANARY_PEOPLE = (
    "quentin.canaryfield@example.org",
    "Quentin Canaryfield",
    "Canaryfield",
    "+44 20 7946 0958",
    "7 Canary Wharf Lane",
)
TARGET = TargetInfo("https://scim.example.com/scim/v2", "scim.example.com", 443)
NOW = dt.datetime(2026, 11, 27, 10, 5, tzinfo=dt.timezone.utc)
HTML_AVAILABLE = importlib.util.find_spec("scim_doctor.reporters.html") is not None


def planted_report() -> Report:
    """A report with the token and a person's data planted everywhere a probe could put them."""
    Secret(CANARY_TOKEN)  # registered for redaction, as the CLI does when it reads the token
    person = {
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": CANARY_PEOPLE[0],
        "name": {"givenName": "Quentin", "familyName": "Canaryfield"},
        "displayName": CANARY_PEOPLE[1],
        "emails": [{"value": CANARY_PEOPLE[0], "primary": True}],
        "phoneNumbers": [{"value": CANARY_PEOPLE[3]}],
        "addresses": [{"streetAddress": CANARY_PEOPLE[4], "type": "home"}],
    }
    body = json.dumps({"totalResults": 1, "Resources": [person], "echo": CANARY_TOKEN})
    exchange = Exchange(
        method="GET",
        url=f"{TARGET.base_url}/Users?count=1&access_token={CANARY_TOKEN}",
        request_headers=(("Authorization", f"Bearer {CANARY_TOKEN}"),),
        status=200,
        http_version="HTTP/1.1",
        response_headers=(("Content-Type", "application/scim+json"),),
        body_excerpt=body,
        body_bytes=len(body),
        body_truncated=False,
    )
    finding = findings.make(
        "tls.cert_expires_soon",
        f"user {CANARY_PEOPLE[0]} ({CANARY_PEOPLE[1]}) was listed; token {CANARY_TOKEN} echoed",
    )
    check = CheckResult(
        "auth",
        "Token authentication",
        Status.WARN,
        80.0,
        f"sampled {CANARY_PEOPLE[1]}, call {CANARY_PEOPLE[3]}",
        findings=(finding,),
        facts={"sample": person, "raw_token": CANARY_TOKEN},
        exchanges=(exchange,),
    )
    return Report("0.1.0", TARGET, "2026-11-27T10:00:00Z", 90.0, (check,), {"proxy": None})


def members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def bundle(tmp_path: Path, *, show_pii: bool = False) -> Path:
    command = "scim-doctor check https://scim.example.com/scim/v2 --token-env SCIM_TOKEN"
    return write_bundle(
        planted_report(), tmp_path / "bundle.zip", command=command, now=NOW, show_pii=show_pii
    )


def test_the_bundle_holds_every_format_and_a_readme(tmp_path: Path) -> None:
    names = set(members(bundle(tmp_path)))
    expected = {"README.txt", "report.json", "report.txt", "report.md", "reproduce.sh"}
    expected.add("transcript.har")
    assert names == expected | ({"report.html"} if HTML_AVAILABLE else set())


def test_neither_the_canary_token_nor_the_canary_person_is_in_any_file(tmp_path: Path) -> None:
    token_forms = (
        CANARY_TOKEN,
        base64.b64encode(CANARY_TOKEN.encode()).decode(),
        CANARY_TOKEN[:12],
        CANARY_TOKEN.replace("_", "\\_"),
        "7f3Kq9Zx81",
    )
    for name, content in members(bundle(tmp_path)).items():
        for secret in (*token_forms, *CANARY_PEOPLE, "Quentin"):
            assert secret not in content, f"{secret!r} found in {name}"


def test_show_pii_keeps_personal_data_but_never_the_token(tmp_path: Path) -> None:
    files = members(bundle(tmp_path, show_pii=True))
    assert CANARY_PEOPLE[0] in files["report.json"]
    assert all(CANARY_TOKEN not in content for content in files.values())
    assert "NOT masked" in files["README.txt"]


def test_the_readme_says_how_the_bundle_was_made(tmp_path: Path) -> None:
    readme = members(bundle(tmp_path))["README.txt"]
    assert "Made by:   scim-doctor 0.1.0" in readme
    assert "Made at:   2026-11-27T10:05:00Z" in readme
    assert "--token-env SCIM_TOKEN" in readme
    assert "Personal data is masked" in readme
    assert "the token is never included" in readme


def test_without_the_html_reporter_the_readme_says_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "scim_doctor.reporters.html", None)
    files = members(bundle(tmp_path))
    assert "report.html" not in files
    assert "no report.html" in files["README.txt"]


def test_the_bundle_replaces_an_old_one_atomically_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "bundle.zip").write_bytes(b"old")
    path = bundle(tmp_path)
    assert zipfile.is_zipfile(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.zip"]


def test_a_missing_directory_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_bundle(planted_report(), tmp_path / "nope" / "b.zip", command="scim-doctor")
    assert list(tmp_path.iterdir()) == []


def test_the_recorded_command_line_is_quoted_and_redacted() -> None:
    Secret(CANARY_TOKEN)
    argv = ["/usr/bin/scim-doctor", "check", "https://x.example/scim v2", "--proxy", CANARY_TOKEN]
    assert command_line(argv) == (
        "scim-doctor check 'https://x.example/scim v2' --proxy [REDACTED]"
    )


def test_reproduce_sh_replays_the_warning_exchange_with_the_token_from_the_environment(
    tmp_path: Path,
) -> None:
    """Given a warning check with an exchange, when the bundle is written, then reproduce.sh
    holds its curl command, takes the token from SCIM_TOKEN only and is executable."""
    path = bundle(tmp_path)
    script = members(path)["reproduce.sh"]
    with zipfile.ZipFile(path) as archive:
        mode = archive.getinfo("reproduce.sh").external_attr >> 16
    assert mode == 0o755
    assert script.startswith("#!/bin/sh\n")
    assert "#   export SCIM_TOKEN=..." in script
    [command] = [line for line in script.splitlines() if line.startswith("curl ")]
    assert '-H "Authorization: Bearer $SCIM_TOKEN"' in command
    assert "access_token=[REDACTED]" in command  # the registered token, scrubbed
    assert "# the URL's credential is redacted" in command
    assert "# auth (warn): GET answered 200" in script
    assert "reproduce.sh" in members(path)["README.txt"]


def test_reproduce_sh_says_when_there_is_nothing_to_replay(tmp_path: Path) -> None:
    report = Report("0.1.0", TARGET, "2026-11-27T10:00:00Z", 1.0, (), {})
    path = write_bundle(report, tmp_path / "b.zip", command="scim-doctor check", now=NOW)
    script = members(path)["reproduce.sh"]
    assert "nothing to replay" in script
    assert "curl " not in script
