"""`scim-doctor diff`: what changed between two JSON reports, and whether for the worse."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.errors import InputError
from scim_doctor.reporters import json as json_reporter
from scim_doctor.reporters.diff import diff_reports, load_report, render_json, render_text
from tests.reporters import sample_reports


def healthy() -> dict[str, Any]:
    return json_reporter.report_to_dict(sample_reports.healthy())


def check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in report["checks"] if c["id"] == check_id)
    return found


@pytest.fixture
def before_and_after_expiry(run_cli: Any, tmp_path: Path) -> tuple[Path, Path]:
    """Two real demo runs through the CLI: a healthy server, then one whose certificate expired."""
    paths = []
    for name, fault in (("healthy", ()), ("expired", ("--fault", "expired_cert"))):
        result = run_cli("demo", *fault, "--format", "json")
        assert result.exit_code == (0 if name == "healthy" else 1), result.stderr
        path = tmp_path / f"{name}.json"
        path.write_text(result.stdout, encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def test_an_expired_certificate_shows_as_a_new_finding_and_a_worse_tls_check(
    before_and_after_expiry: tuple[Path, Path],
) -> None:
    old, new = (load_report(p) for p in before_and_after_expiry)
    diff = diff_reports(old, new)
    assert [f.code for f in diff.new_findings] == ["tls.cert_expired"]
    assert [c.check for c in diff.status_changes if c.direction == "worse"] == ["tls"]
    tls = next(c for c in diff.status_changes if c.check == "tls")
    assert (tls.old, tls.new) == ("pass", "fail")
    assert {"sha256", "not_after"} <= {c.field for c in diff.certificate_changes}
    assert diff.worse
    text = render_text(diff)
    assert "tls.cert_expired" in text and "pass -> fail" in text and text.endswith("Worse: yes.\n")
    document = json.loads(render_json(diff))
    assert document["diff_version"] == "1" and document["worse"] is True
    assert [f["code"] for f in document["new_findings"]] == ["tls.cert_expired"]


def test_renewing_the_certificate_resolves_the_finding_and_is_not_worse(
    before_and_after_expiry: tuple[Path, Path],
) -> None:
    expired, renewed = (load_report(p) for p in reversed(before_and_after_expiry))
    diff = diff_reports(expired, renewed)
    assert [f.code for f in diff.resolved_findings] == ["tls.cert_expired"]
    assert diff.new_findings == ()
    assert [c.check for c in diff.status_changes if c.direction == "better"] == ["tls"]
    assert {c.direction for c in diff.status_changes if c.check != "tls"} == {"inconclusive"}
    assert not diff.worse


def test_the_same_report_twice_has_no_differences() -> None:
    diff = diff_reports(healthy(), healthy())
    assert diff.empty and not diff.worse
    assert render_text(diff).endswith("No differences.\n")


def test_a_new_warning_is_worse_even_when_no_status_changed() -> None:
    old, new = healthy(), healthy()
    check(new, "url")["findings"] = [
        {"code": "url.endpoint_suffix", "severity": "warn", "message": "ends with /Users"}
    ]
    diff = diff_reports(old, new)
    assert diff.status_changes == () and diff.worse


def test_a_new_info_finding_alone_is_not_worse() -> None:
    old, new = healthy(), healthy()
    check(new, "url")["findings"] = [
        {"code": "url.trailing_slash", "severity": "info", "message": "ends with /"}
    ]
    diff = diff_reports(old, new)
    assert [f.code for f in diff.new_findings] == ["url.trailing_slash"] and not diff.worse


def test_moved_addresses_are_listed_as_added_and_removed() -> None:
    old, new = healthy(), healthy()
    check(new, "dns")["facts"]["addresses"] = ["203.0.113.10", "198.51.100.7"]
    change = diff_reports(old, new).address_changes
    assert change is not None
    assert change.added == ("198.51.100.7",) and change.removed == ("2001:db8::10",)
    assert "added:   198.51.100.7" in render_text(diff_reports(old, new))


@pytest.mark.parametrize(("new_ms", "shifted"), [(170.0, False), (200.0, True), (40.0, False)])
def test_a_timing_shift_needs_more_than_half_and_more_than_100_ms(
    new_ms: float, shifted: bool
) -> None:
    old, new = healthy(), healthy()
    check(new, "auth")["duration_ms"] = new_ms  # was 80.2 ms
    shifts = diff_reports(old, new).timing_shifts
    assert [s.check for s in shifts] == (["auth"] if shifted else [])


def test_a_status_change_to_skip_is_inconclusive_not_better_or_worse() -> None:
    old, new = healthy(), healthy()
    check(new, "auth")["status"] = "skip"
    (change,) = diff_reports(old, new).status_changes
    assert (change.check, change.direction) == ("auth", "inconclusive")
    assert not diff_reports(old, new).worse


def test_the_json_shape_is_stable() -> None:
    old, new = healthy(), copy.deepcopy(healthy())
    check(new, "tls")["status"] = "warn"
    document = json.loads(render_json(diff_reports(old, new)))
    assert list(document) == [
        "diff_version",
        "old",
        "new",
        "worse",
        "status_changes",
        "new_findings",
        "resolved_findings",
        "certificate_changes",
        "address_changes",
        "timing_shifts",
    ]
    assert document["status_changes"] == [
        {
            "check": "tls",
            "title": "TLS handshake and certificate",
            "old": "pass",
            "new": "warn",
            "direction": "worse",
        }
    ]
    assert document["old"] == {
        "base_url": "https://scim.example.com/scim/v2",
        "started_at": "2026-11-27T10:00:00Z",
        "tool_version": "0.1.0",
        "status": "pass",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{not json", "not a JSON report (line 1, column 2"),
        ('{"checks": []}', "not a scim-doctor JSON report (no schema_version)"),
        ('{"schema_version": "2", "targets": []}', "a multi-target report (schema version 2"),
        ('{"schema_version": "9", "checks": []}', "schema version '9' is not supported"),
        ('{"schema_version": "1", "checks": [{"id": 1}]}', "malformed report"),
    ],
)
def test_a_file_that_is_not_a_report_is_refused_in_one_line(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "old.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
