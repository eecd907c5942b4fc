"""The CI examples in docs/ci/ work as written: their shell steps are parsed out of each file
and run, in a job-like working directory, against demo servers (one healthy, one with an
expired certificate). Only the install step is left out: tests never reach PyPI, and the
scim-doctor under test is already installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema

from scim_doctor.runs.config import parse_config
from tests.conftest import ROOT
from tests.support.fleet_servers import TOKEN, FleetServers, fleet_servers

CI = ROOT / "docs" / "ci"
JUNIT_XSD = ROOT / "tests" / "support" / "junit-10.xsd"
SCHEMA_V2 = ROOT / "docs" / "report-schema-v2.json"
INSTALL = re.compile(r"^(python3? -m )?pip3? install\b")
TOKEN_VARIABLES = ("ACME_SCIM_TOKEN", "GLOBEX_SCIM_TOKEN")


def _join_continuations(lines: list[str]) -> list[str]:
    commands: list[str] = []
    pending = ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        commands.append(pending + line)
        pending = ""
    return commands


def github_commands(text: str) -> list[str]:
    """Every `run:` of the workflow: single-line, or a `run: |` block."""
    lines = text.splitlines()
    commands: list[str] = []
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)(?:- )?run:\s*(.*)$", line)
        if not match:
            continue
        indent, value = len(match.group(1)), match.group(2).strip()
        if value not in ("|", ">"):
            commands.append(value)
            continue
        block = []
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            block.append(following)
        commands += _join_continuations(block)
    return commands


def gitlab_commands(text: str) -> list[str]:
    """The items of the job's `script:` list (one command per item)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "script:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    commands = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip().startswith("- "):
            commands.append(line.strip()[2:].strip())
    return commands


def jenkins_commands(text: str) -> list[str]:
    """Every `sh '...'` step and every `sh '''...'''` block."""
    commands = []
    for block in re.findall(r"sh\s+'''(.*?)'''", text, flags=re.DOTALL):
        commands += _join_continuations(block.splitlines())
    commands += re.findall(r"sh\s+'([^'\n]+)'", text)
    return commands


EXAMPLES = {
    "github-actions.yml": github_commands,
    "gitlab-ci.yml": gitlab_commands,
    "Jenkinsfile": jenkins_commands,
}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[FleetServers]:
    with fleet_servers(tmp_path, {"ok": None, "expired": "expired_cert"}) as servers:
        yield servers


def job_directory(fleet: FleetServers, tmp_path: Path) -> Path:
    """A checkout as the job sees it: scim-doctor.toml naming the example's token variables."""
    work = tmp_path / "job"
    work.mkdir()
    shutil.copy(fleet.cacert, work / "corp-ca.pem")
    (work / "scim-doctor.toml").write_text(
        f"""
[defaults]
timeout = 2
cacert = "corp-ca.pem"
only = ["url", "dns", "connect", "tls"]

[[targets]]
name = "acme"
url = "{fleet.url("ok", "acme")}"
resolve = ["{fleet.pin("ok", "acme")}"]
token_env = "ACME_SCIM_TOKEN"

[[targets]]
name = "globex"
url = "{fleet.url("expired", "globex")}"
resolve = ["{fleet.pin("expired", "globex")}"]
token_env = "GLOBEX_SCIM_TOKEN"
""",
        encoding="utf-8",
    )
    return work


def run_example(
    name: str, work: Path, extra_env: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    commands = EXAMPLES[name]((CI / name).read_text(encoding="utf-8"))
    to_run = [command for command in commands if not INSTALL.match(command)]
    assert len(commands) - len(to_run) == 1, f"{name}: expected one install step: {commands}"
    assert to_run, f"{name}: no scim-doctor step found"
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(work),
        "LANG": "C.UTF-8",
        **dict.fromkeys(TOKEN_VARIABLES, TOKEN),
        **extra_env,
    }
    return [
        subprocess.run(
            ["bash", "-e", "-c", command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for command in to_run
    ]


def check_reports(work: Path) -> dict[str, Any]:
    junit = (work / "scim-doctor-junit.xml").read_text(encoding="utf-8")
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(junit)
    assert 'name="globex (' in junit and 'name="acme (' in junit
    assert "tls.cert_expired" in junit
    report: dict[str, Any] = json.loads((work / "scim-doctor.json").read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_V2.read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    assert report["summary"]["failing"] == ["globex"]
    return report


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_runs_its_steps_and_writes_junit_and_json(
    name: str, fleet: FleetServers, tmp_path: Path
) -> None:
    work = job_directory(fleet, tmp_path)
    (step,) = run_example(name, work, {"CI": "true"})
    assert step.returncode == 1, step.stderr  # globex's certificate has expired: the job fails
    assert step.stdout.startswith("globex: fail tls.cert_expired: ")
    assert step.stderr == ""
    check_reports(work)
    assert TOKEN not in step.stdout + step.stderr


def test_the_github_example_annotates_and_writes_the_step_summary(
    fleet: FleetServers, tmp_path: Path
) -> None:
    work = job_directory(fleet, tmp_path)
    summary = tmp_path / "summary.md"
    (step,) = run_example(
        "github-actions.yml",
        work,
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(work),
        },
    )
    assert step.returncode == 1
    header = (work / "scim-doctor.toml").read_text().splitlines().index('name = "globex"')
    annotations = [line for line in step.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1
    assert annotations[0].startswith(
        f"::error title=globex%3A tls.cert_expired,file=scim-doctor.toml,line={header}::"
    )
    assert "| globex | ❌ fail | `tls.cert_expired` |" in summary.read_text(encoding="utf-8")


def test_the_github_example_passes_the_job_when_every_target_is_healthy(
    fleet: FleetServers, tmp_path: Path
) -> None:
    work = job_directory(fleet, tmp_path)
    config = work / "scim-doctor.toml"
    config.write_text(config.read_text().replace(".expired.", ".ok.").replace(
        str(fleet.servers["expired"].port), str(fleet.servers["ok"].port)
    ))  # fmt: skip
    (step,) = run_example("github-actions.yml", work, {"CI": "true"})
    assert (step.returncode, step.stdout, step.stderr) == (0, "", "")


def test_the_example_config_is_valid_and_names_the_variables_the_examples_set() -> None:
    config = parse_config(
        (CI / "scim-doctor.toml").read_text(encoding="utf-8"), CI / "scim-doctor.toml"
    )
    assert sorted(t.token.env or "" for t in config.targets) == sorted(TOKEN_VARIABLES)
    for name in EXAMPLES:
        text = (CI / name).read_text(encoding="utf-8")
        assert all(variable in text for variable in TOKEN_VARIABLES), name


def test_every_example_names_the_junit_report_it_publishes() -> None:
    assert "junit: scim-doctor-junit.xml" in (CI / "gitlab-ci.yml").read_text()
    assert "junit testResults: 'scim-doctor-junit.xml'" in (CI / "Jenkinsfile").read_text()
    assert "scim-doctor-junit.xml" in (CI / "github-actions.yml").read_text()
