"""Fixtures shared by the whole suite: the report schema, and running the real CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scim_doctor.cli.app import main

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "report-schema-v1.json"


@pytest.fixture(scope="session")
def report_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def assert_valid_report(validator: jsonschema.protocols.Validator, document: Any) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def catalogue_severity(finding: Mapping[str, Any]) -> str:
    """The severity the catalogue gives a JSON finding, whatever the run's rule made of it."""
    return str(finding.get("catalogue_severity") or finding["severity"])


def assert_one_verdict(report: Mapping[str, Any]) -> None:
    """The one severity rule (README "Severity"), on a JSON report: a finding is fail exactly
    when it names the providers in scope it breaks, those providers are exactly the ones the
    table says will fail because of it, and the summary is fail exactly when one will fail
    (or the run could not finish, or a fault on this machine's own path kept it from judging
    the server, or scim-doctor broke); a provider reads not_judged_here only beside such a
    fault."""
    verdicts = {v["idp"]: v for v in report.get("idp_verdicts", [])}
    failing = {key for key, v in verdicts.items() if v["verdict"] == "will_fail"}
    findings = [f for check in report["checks"] for f in check["findings"]]
    here = [f for f in findings if f.get("scope") == "this_machine" and f["severity"] == "fail"]
    hidden = {key for key, v in verdicts.items() if v["verdict"] == "not_judged_here"}
    assert not hidden or here, f"{hidden} not judged from here, yet no fault on this machine's path"
    named: set[str] = set()
    for finding in findings:
        affects = set(finding.get("affects", []))
        unjudged = finding["code"].startswith("run.") or finding.get("scope") == "this_machine"
        assert (finding["severity"] == "fail") == bool(affects) or unjudged, finding
        blamed_by = {
            key
            for key in failing
            for rule in verdicts[key]["rules"]
            if rule["status"] == "broken" and finding["code"] in rule["codes"]
        }
        assert affects == blamed_by, (finding["code"], affects, blamed_by)
        named |= affects
    assert named == failing, f"will fail with no finding naming it: {failing - named}"
    broke = any(c["status"] == "error" for c in report["checks"])
    cut = any(f["code"].startswith("run.") and f["severity"] == "fail" for f in findings)
    could_not_judge = bool(cut or here)
    assert (report["summary"]["status"] == "fail") == bool(failing or broke or could_not_judge), (
        report["summary"]
    )


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run `scim-doctor ARGS` through the console entry point, in-process."""

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> CliResult:
        for name, value in (env or {}).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    yield invoke
