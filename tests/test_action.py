"""The GitHub Action (action.yml) as a runner would run it: each step's shell, with its `env:`
filled from the inputs as GitHub does, the install step included (a fresh virtual environment,
the hash-locked requirements/action.txt, the package from the action's own directory), then
the check step against demo servers. GitHub's files (GITHUB_ENV, GITHUB_OUTPUT, the step
summary) are real files read back the way the runner reads them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from scim_doctor.demo.server import DemoServer
from tests.conftest import ROOT

TOKEN = "canary-action-3d8f1b6e0a2c9457"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SHIPPED = ("pyproject.toml", "README.md", "action.yml", "scim_doctor", "templates", "requirements")
"""What a checkout of the action holds that the install needs (tests, node_modules stay out)."""
INPUT = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")

pytestmark = pytest.mark.timeout(600)


@dataclass
class Runner:
    """One job's workspace: the action's checkout, the runner's temp dir and GitHub's files."""

    action_path: Path
    temp: Path
    env: dict[str, str]

    def github_file(self, name: str) -> Path:
        return self.temp / name

    def run_step(
        self, step: Mapping[str, Any], inputs: Mapping[str, str]
    ) -> subprocess.CompletedProcess[str]:
        given = {
            name: inputs.get(name, str(spec.get("default", "")))
            for name, spec in ACTION["inputs"].items()
        }
        step_env = {
            key: INPUT.sub(lambda match: given[match.group(1)], str(value))
            for key, value in (step.get("env") or {}).items()
        }
        for path in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"):
            self.github_file(path).write_text("", encoding="utf-8")
        env = {
            **self.env,
            **step_env,
            "GITHUB_ACTION_PATH": str(self.action_path),
            "GITHUB_OUTPUT": str(self.github_file("GITHUB_OUTPUT")),
            "GITHUB_ENV": str(self.github_file("GITHUB_ENV")),
            "GITHUB_STEP_SUMMARY": str(self.github_file("GITHUB_STEP_SUMMARY")),
        }
        result = subprocess.run(  # the action's own shell, as GitHub runs it
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
        for line in self.github_file("GITHUB_ENV").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value
        return result

    def outputs(self) -> dict[str, str]:
        lines = self.github_file("GITHUB_OUTPUT").read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)


def step(name: str) -> Mapping[str, Any]:
    steps: list[Mapping[str, Any]] = ACTION["runs"]["steps"]
    return next(s for s in steps if s["name"] == name)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """The action checked out and its install step run once, into a fresh virtual environment."""
    base = tmp_path_factory.mktemp("action")
    checkout = base / "action"
    checkout.mkdir()
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, checkout / name)
    temp = base / "runner-temp"
    temp.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(base)),
        "RUNNER_TEMP": str(temp),
        "GITHUB_ACTIONS": "true",
    }
    for name in ("PIP_INDEX_URL", "PIP_CERT", "SSL_CERT_FILE", "https_proxy", "HTTPS_PROXY"):
        if name in os.environ:
            env[name] = os.environ[name]
    job = Runner(checkout, temp, env)
    installed = job.run_step(step("Install scim-doctor"), {"python": sys.executable})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield job


def test_the_install_step_builds_scim_doctor_from_the_actions_checkout_into_a_fresh_venv(
    runner: Runner,
) -> None:
    binary = Path(runner.env["SCIM_DOCTOR_ACTION_BIN"]) / "scim-doctor"
    assert binary.is_file()
    assert str(runner.temp) in str(binary)
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert "scim-doctor" in version.stdout


def test_the_check_step_passes_a_healthy_url_with_a_step_summary_and_a_json_report(
    runner: Runner, tmp_path: Path
) -> None:
    with DemoServer(TOKEN) as server:
        extra = f"--cacert {server.write_ca(tmp_path)} --resolve {server.resolve_pin}"
        runner.env["SCIM_TOKEN"] = TOKEN
        result = runner.run_step(
            step("Check the SCIM endpoint"), {"url": server.base_url, "args": extra}
        )

    assert result.returncode == 0, result.stdout + result.stderr
    outputs = runner.outputs()
    assert outputs["exit-code"] == "0"
    report = json.loads(Path(outputs["report"]).read_text(encoding="utf-8"))
    assert report["schema_version"] == "1.2"
    assert report["summary"]["status"] == "pass"
    summary = runner.github_file("GITHUB_STEP_SUMMARY").read_text(encoding="utf-8")
    assert "scim-doctor" in summary
    assert TOKEN not in result.stdout + result.stderr + summary


def test_a_failing_target_fails_the_step_with_an_annotation_naming_the_root_cause(
    runner: Runner, tmp_path: Path
) -> None:
    with DemoServer(TOKEN, fault="expired_cert") as server:
        extra = f"--cacert {server.write_ca(tmp_path)} --resolve {server.resolve_pin}"
        runner.env["SCIM_TOKEN"] = TOKEN
        result = runner.run_step(
            step("Check the SCIM endpoint"), {"url": server.base_url, "args": extra}
        )

    assert result.returncode == 1
    assert runner.outputs()["exit-code"] == "1"
    assert "::error" in result.stdout + result.stderr
    assert "tls.cert_expired" in result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_an_input_cannot_inject_shell(runner: Runner, tmp_path: Path) -> None:
    marker = tmp_path / "injected"
    result = runner.run_step(
        step("Check the SCIM endpoint"), {"url": f"https://x.invalid/$(touch {marker})"}
    )

    assert not marker.exists()
    assert result.returncode == 2


def test_without_url_or_config_the_step_says_so_in_one_annotation(runner: Runner) -> None:
    result = runner.run_step(step("Check the SCIM endpoint"), {})

    assert result.returncode == 2
    assert "::error title=scim-doctor::give the action a url or a config input" in result.stdout


def test_the_matrix_example_gives_the_action_only_inputs_it_has_and_merges_its_report_files() -> (
    None
):
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "github-matrix.yml").read_text())
    steps = workflow["jobs"]["shard"]["steps"]
    [scim] = [s for s in steps if "scim-doctor" in str(s.get("uses", ""))]
    assert set(scim["with"]) <= set(ACTION["inputs"])
    assert scim["with"]["shard"] == "${{ matrix.shard }}/4"
    report_name = Path(
        re.search(
            r'report="\$\{RUNNER_TEMP:-/tmp\}/([^"]+)"', step("Check the SCIM endpoint")["run"]
        )[1]  # type: ignore[index]
    ).name
    merge_runs = " ".join(s.get("run", "") for s in workflow["jobs"]["merge"]["steps"])
    assert f"scim-doctor merge shards/*/{report_name}" in merge_runs
