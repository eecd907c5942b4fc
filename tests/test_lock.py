"""The lock (requirements/dev.txt) pins every dependency pyproject.toml names, inside its range,
for every Python the package supports; `make` installs from it, so a fresh clone today and next
month gets the same versions."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "dev.txt"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13", "3.14")


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]


def pins() -> dict[str, list[tuple[str, Marker | None]]]:
    """name -> [(version, marker)]: a universal lock may pin one package twice, by Python."""
    found: dict[str, list[tuple[str, Marker | None]]] = {}
    pattern = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?: ; (.+?))?(?: \\)?$", re.M)
    for name, version, marker in pattern.findall(LOCK.read_text()):
        found.setdefault(canonicalize_name(name), []).append(
            (version, Marker(marker) if marker else None)
        )
    return found


def environment(python: str) -> dict[str, str]:
    return {"python_version": python, "python_full_version": f"{python}.0"}


def test_every_declared_dependency_is_pinned_inside_its_range_for_every_supported_python() -> None:
    locked = pins()
    for requirement in declared():
        for python in SUPPORTED:
            if requirement.marker and not requirement.marker.evaluate(environment(python)):
                continue
            versions = [
                version
                for version, marker in locked.get(canonicalize_name(requirement.name), [])
                if marker is None or marker.evaluate(environment(python))
            ]
            assert len(versions) == 1, f"{requirement.name} on Python {python}: pins {versions}"
            assert requirement.specifier.contains(versions[0], prereleases=True), (
                f"the lock pins {requirement.name}=={versions[0]}, outside {requirement} "
                "(run `make lock`)"
            )


def test_every_pin_carries_a_hash_so_pip_installs_it_in_hash_checking_mode() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 2)[2])
    assert len(entries) == sum(len(v) for v in pins().values())
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_lock_names_no_index_or_host_and_was_written_by_make_lock() -> None:
    text = LOCK.read_text()
    assert "http://" not in text and "https://" not in text and "--index-url" not in text
    makefile = (ROOT / "Makefile").read_text()
    command = re.search(r"^LOCK_COMMAND := ((?:.*\\\n)*.*)$", makefile, re.M)
    assert command is not None
    words = command.group(1).replace("\\\n", " ").replace("$(LOCK)", "requirements/dev.txt")
    expected = [word for word in words.split() if word != "--quiet"]
    assert text.splitlines()[1].lstrip("# ").split() == expected
