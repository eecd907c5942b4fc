"""Install the SCIMMY test server's npm packages from the committed package-lock.json.

The project's own files install what the tests need: `npm ci` in tests/thirdparty/scimmy when its
node_modules is missing or holds other versions than package.json pins. The tests skip only when
node/npm are missing or the npm registry cannot be reached; any other install failure is an error.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

SCIMMY_DIR = Path(__file__).resolve().parent / "scimmy"
INSTALL_TIMEOUT_S = 300.0
MIN_NODE_MAJOR = 16
"""scimmy-routers' `engines.node`."""

_OFFLINE = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
    r"network request .* failed|request to .* failed"
)


class InstallError(RuntimeError):
    """`npm ci` failed for a reason other than an unreachable registry."""


def pinned() -> dict[str, str]:
    """Package name -> exact version, from tests/thirdparty/scimmy/package.json."""
    manifest = json.loads((SCIMMY_DIR / "package.json").read_text(encoding="utf-8"))
    dependencies: dict[str, str] = manifest["dependencies"]
    return dependencies


def installed_version(package: str) -> str | None:
    path = SCIMMY_DIR / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(path.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def _node_problem() -> str | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm are needed for the SCIMMY server (apt-get install nodejs npm)"
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`node --version` failed: {exc}"
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        return f"node {version} is too old for scimmy-routers (needs >= {MIN_NODE_MAJOR})"
    return None


@functools.cache
def ensure_installed() -> str | None:
    """None when the pinned packages are in node_modules (installing them if needed), else
    why the SCIMMY tests must skip. Raises InstallError when npm fails for another reason."""
    problem = _node_problem()
    if problem is not None:
        return problem
    if all(installed_version(name) == version for name, version in pinned().items()):
        return None
    command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(
            command,
            cwd=SCIMMY_DIR,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return (
            f"`npm ci` did not finish in {INSTALL_TIMEOUT_S:.0f} s: is the npm registry reachable?"
        )
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        if _OFFLINE.search(output):
            return f"the npm registry cannot be reached (`npm ci` failed):\n{tail}"
        raise InstallError(f"`npm ci` in {SCIMMY_DIR} exited {done.returncode}:\n{tail}")
    wrong = {name: installed_version(name) for name, version in pinned().items()}
    wrong = {name: got for name, got in wrong.items() if got != pinned()[name]}
    if wrong:
        raise InstallError(f"`npm ci` left other versions than package.json pins: {wrong}")
    return None


def main() -> int:
    """`python -m tests.thirdparty.npm`: install the pinned packages now (a `make test`
    prerequisite), so no test waits for npm; says why and exits 1 when it cannot."""
    try:
        problem = ensure_installed()
    except InstallError as exc:
        problem = str(exc)
    if problem is not None:
        print(f"tests/thirdparty/npm: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
