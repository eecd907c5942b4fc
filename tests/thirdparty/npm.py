"""Install the npm-based test servers' packages from their committed package-lock.json.

Each server is one folder under tests/thirdparty (an `NpmProject`): a package.json pinning exact
versions, its package-lock.json, and the server script. The project's own files install what the
tests need: `npm ci` in that folder when its node_modules is missing or holds other versions than
package.json pins. Under `make test` (SCIM_DOCTOR_REQUIRE_REAL=1) any reason it cannot is a
failure; `make test-fast` lets the tests skip when node/npm are missing or the npm registry cannot
be reached. Any other install failure is an error.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
INSTALL_TIMEOUT_S = 300.0

_OFFLINE = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|"
    r"network request .* failed|request to .* failed"
)


class InstallError(RuntimeError):
    """`npm ci` failed for a reason other than an unreachable registry."""


@dataclass(frozen=True)
class NpmProject:
    """A folder with package.json, package-lock.json and the server it runs."""

    name: str
    directory: Path
    min_node_major: int
    """The oldest node its packages' `engines.node` allow."""

    def pinned(self) -> dict[str, str]:
        """Package name -> exact version, from package.json."""
        manifest = json.loads((self.directory / "package.json").read_text(encoding="utf-8"))
        dependencies: dict[str, str] = manifest["dependencies"]
        return dependencies

    def installed_version(self, package: str) -> str | None:
        path = self.directory / "node_modules" / package / "package.json"
        try:
            version: str = json.loads(path.read_text(encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError):
            return None
        return version

    def ensure_installed(self) -> str | None:
        """None when the pinned packages are in node_modules (installing them if needed), else
        why the tests cannot run it. Raises InstallError when npm fails for another reason."""
        return _ensure_installed(self)


SCIMMY = NpmProject("SCIMMY", HERE / "scimmy", 16)
"""SCIMMY + scimmy-routers on Express (scimmy-routers' `engines.node` is >= 16)."""
BETTER_AUTH = NpmProject("Better Auth", HERE / "better_auth", 20)
"""Better Auth with @better-auth/scim on node:http (better-auth's `engines.node` is >= 20)."""
PROJECTS = (SCIMMY, BETTER_AUTH)


def _node_problem(project: NpmProject) -> str | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return f"node and npm are needed for the {project.name} server (apt-get install nodejs npm)"
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`node --version` failed: {exc}"
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < project.min_node_major:
        return (
            f"node {version} is too old for the {project.name} server "
            f"(needs >= {project.min_node_major})"
        )
    return None


@functools.cache
def _ensure_installed(project: NpmProject) -> str | None:
    problem = _node_problem(project)
    if problem is not None:
        return problem
    pins = project.pinned()
    if all(project.installed_version(name) == version for name, version in pins.items()):
        return None
    command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(
            command,
            cwd=project.directory,
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
        raise InstallError(f"`npm ci` in {project.directory} exited {done.returncode}:\n{tail}")
    wrong = {name: project.installed_version(name) for name in pins}
    wrong = {name: got for name, got in wrong.items() if got != pins[name]}
    if wrong:
        raise InstallError(f"`npm ci` left other versions than package.json pins: {wrong}")
    return None


def main() -> int:
    """`python -m tests.thirdparty.npm`: install every project's pinned packages now (a
    `make test` prerequisite), so no test waits for npm; says why and exits 1 when it cannot."""
    failed = False
    for project in PROJECTS:
        try:
            problem = project.ensure_installed()
        except InstallError as exc:
            problem = str(exc)
        if problem is not None:
            print(f"tests/thirdparty/npm: {project.name}: {problem}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
