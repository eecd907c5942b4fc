"""Run the real `scim-doctor check` against a third-party server, in a subprocess, as an admin
would, and read its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.thirdparty.servers import RunningServer

RUN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Checked:
    exit_code: int
    report: dict[str, Any]

    def check(self, check_id: str) -> dict[str, Any]:
        found: dict[str, Any] = next(c for c in self.report["checks"] if c["id"] == check_id)
        return found

    def codes(self) -> dict[str, set[str]]:
        """Finding codes by check id, for the checks that reported any."""
        by_check = {c["id"]: {f["code"] for f in c["findings"]} for c in self.report["checks"]}
        return {check: codes for check, codes in by_check.items() if codes}

    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.report["checks"]}

    def message(self, code: str) -> str:
        for check in self.report["checks"]:
            for finding in check["findings"]:
                if finding["code"] == code:
                    text: str = finding["message"]
                    return text
        raise AssertionError(f"no {code} finding in the report")


def run_check(server: RunningServer, *extra: str, token: str | None = None) -> Checked:
    """`scim-doctor check ... --format json` with `token` (default: the one the server
    accepts) in SCIM_TOKEN; with neither, `--no-token`."""
    env = {**os.environ}
    env.pop("SCIM_TOKEN", None)
    args = [*server.check_args(*extra), "--format", "json"]
    token = token if token is not None else server.token
    if token is not None:
        env["SCIM_TOKEN"] = token
    else:
        args.append("--no-token")
    done = subprocess.run(
        [sys.executable, "-m", "scim_doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.stdout, f"no report; exit {done.returncode}; stderr:\n{done.stderr}"
    return Checked(done.returncode, json.loads(done.stdout))
