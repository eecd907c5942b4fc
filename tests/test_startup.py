"""Start-up (issue 21): a plain `check` imports only what a check needs. Nothing is timed here;
these tests name the modules a run must not load, in a fresh interpreter each."""

from __future__ import annotations

import json
import subprocess
import sys

# What `scim-doctor check URL` imports before it runs the checks (the CLI, the registry of
# checks, the runner, the default text reporter and the JSON one).
_CHECK_IMPORTS = """
import json, sys
import scim_doctor.cli.app
import scim_doctor.checks, scim_doctor.runs.runner
import scim_doctor.reporters.text, scim_doctor.reporters.json
import httpx
print(json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)))
"""

NOT_FOR_A_PLAIN_CHECK = (
    "jinja2",  # the HTML report only
    "prometheus_client",  # --format openmetrics and `serve` only
    "scim_doctor.lifecycle.cleanup",  # --allow-writes only
    "scim_doctor.lifecycle.steps",
    "scim_doctor.checks.deep_sweep",  # --deep only
    "scim_doctor.scim.deep_tally",
    "scim_doctor.demo.server",  # `demo` only
    "scim_doctor.reporters.html",
    "httpx._main",  # httpx's own command line (rich, pygments)
    "rich",
)


def test_a_plain_check_loads_none_of_the_optional_modules() -> None:
    """Given a fresh interpreter, when it imports what `check` imports, then no module that
    only another format, command or option needs is loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _CHECK_IMPORTS], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))

    assert not loaded & set(NOT_FOR_A_PLAIN_CHECK)
    assert "httpx" in loaded and callable(__import__("httpx").main)
