"""The run as an HTTP Archive: `--har FILE` against the demo server loads as HAR 1.2, every entry
has its request, response and timings, and neither the token nor a listed person survives."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scim_doctor.core.model import CheckResult, Exchange, Report, Status
from scim_doctor.demo.server import DemoServer
from scim_doctor.reporters import har
from tests.reporters.sample_reports import TARGET

CANARY = "canary-har-6b1e9d3f7a2c4058"
SEEDED_PERSON = ("Lovelace", "ada.lovelace")
"""Who the demo server lists first: a real name and e-mail that must stay masked."""
SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "har-1.2.schema.json").read_text()
)


def check_with_har(run_cli: Any, server: DemoServer, tmp_path: Path, *extra: str) -> Path:
    path = tmp_path / "run.har"
    result = run_cli(
        "check", server.base_url, "--cacert", str(server.write_ca(tmp_path)),
        "--resolve", server.resolve_pin, "--timeout", "3", "--har", str(path),
        "--output", str(tmp_path / "report.txt"), *extra,
        env={"SCIM_TOKEN": CANARY},
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    assert f"wrote {path}" in result.stderr
    return path


def test_a_check_writes_every_request_of_the_run_as_a_valid_har_1_2_archive(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(CANARY) as server:
        archive = json.loads(check_with_har(run_cli, server, tmp_path).read_text())

    jsonschema.validate(archive, SCHEMA)
    entries = archive["log"]["entries"]
    assert len(entries) >= 10
    assert {e["comment"].split(";")[0] for e in entries} >= {"check auth", "check users"}
    assert [p["id"] for p in archive["log"]["pages"]] == ["run"]
    started = [e["startedDateTime"] for e in entries]
    assert started == sorted(started)
    listing = next(e for e in entries if "/Users?startIndex=1&count=1" in e["request"]["url"])
    assert listing["response"]["status"] == 200
    assert listing["response"]["content"]["mimeType"] == "application/scim+json"
    assert {"name": "count", "value": "1"} in listing["request"]["queryString"]


def test_each_entrys_time_is_the_sum_of_its_phases_as_har_defines_it(
    run_cli: Any, tmp_path: Path
) -> None:
    """HAR 1.2: `time` is the sum of the timings that apply (not -1), ssl counted in connect."""
    with DemoServer(CANARY) as server:
        archive = json.loads(check_with_har(run_cli, server, tmp_path).read_text())

    for entry in archive["log"]["entries"]:
        phases = {k: v for k, v in entry["timings"].items() if k != "ssl" and v != -1}
        assert sum(phases.values()) == pytest.approx(entry["time"], abs=0.01), entry["timings"]


def test_neither_the_token_nor_a_listed_persons_data_appear_in_the_har(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(CANARY) as server:
        text = check_with_har(run_cli, server, tmp_path, "--deep").read_text()

    assert CANARY not in text
    assert "Bearer [REDACTED]" in text
    for planted in SEEDED_PERSON:
        assert planted.lower() not in text.lower()


def test_show_pii_keeps_the_people_in_the_har_and_still_not_the_token(
    run_cli: Any, tmp_path: Path
) -> None:
    with DemoServer(CANARY) as server:
        text = check_with_har(run_cli, server, tmp_path, "--show-pii").read_text()

    assert CANARY not in text
    assert SEEDED_PERSON[0] in text


def test_the_support_bundle_carries_the_har_transcript(run_cli: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "support.zip"
    with DemoServer(CANARY) as server:
        check_with_har(run_cli, server, tmp_path, "--bundle", str(bundle))

    with zipfile.ZipFile(bundle) as opened:
        archive = json.loads(opened.read("transcript.har"))
        readme = opened.read("README.txt").decode()
    jsonschema.validate(archive, SCHEMA)
    assert "transcript.har" in readme


def test_a_request_that_got_no_answer_is_status_0_with_its_error_and_no_invented_phases() -> None:
    exchange = Exchange(
        method="GET",
        url="https://scim.example.com/scim/v2/Users",
        request_headers=(("Accept", "application/scim+json"),),
        status=None,
        http_version=None,
        response_headers=(),
        body_excerpt="",
        body_bytes=0,
        body_truncated=False,
        timings_ms={"total": 3000.0},
        error="no complete response within 3 s: timed out while connecting",
        started_at="2026-12-06T10:00:00.000Z",
    )
    check = CheckResult(
        "users", "/Users listing", Status.FAIL, 3000.0, "timed out", exchanges=(exchange,)
    )
    report = Report("0.1.0", TARGET, "2026-12-06T10:00:00Z", 3000.0, (check,), {})

    archive = json.loads(har.render(report))

    jsonschema.validate(archive, SCHEMA)
    [entry] = archive["log"]["entries"]
    assert entry["response"]["status"] == 0
    assert entry["response"]["_error"].startswith("no complete response")
    assert entry["timings"]["connect"] == -1
    assert entry["time"] == 3000.0
