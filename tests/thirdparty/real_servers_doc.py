"""Read docs/real-servers.md: the findings table of each server set-up.

Each table follows a marker line `<!-- findings: KEY -->` (KEY as tests/thirdparty/conftest.py
names the set-up) and has the columns Run, Code, Severity, Kind, What the server does, Rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "real-servers.md"
RUNS = ("check", "lifecycle")
"""`check`: the read-only check; `lifecycle`: `check --allow-writes --only lifecycle`."""
SEVERITIES = ("info", "warn", "fail")
KINDS = ("RFC deviation", "IdP requirement", "tool noise", "info")
"""Why a finding is there: the server breaks an RFC rule, or what an identity provider needs;
or the tool is wrong (reported, to be fixed in the tool); or it is information only."""
_MARKER = re.compile(r"^<!-- findings: (?P<key>[^>]+?) -->$", re.MULTILINE)
_CODE = re.compile(r"^`(?P<code>[a-z0-9_]+\.[a-z0-9_.]+)`$")


@dataclass(frozen=True)
class Row:
    run: str
    code: str
    severity: str
    kind: str
    what: str
    rule: str


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def tables(text: str | None = None) -> dict[str, list[Row]]:
    """The findings table of every set-up, by key. Raises ValueError on a malformed table."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    found: dict[str, list[Row]] = {}
    for marker in _MARKER.finditer(text):
        key = marker.group("key")
        if key in found:
            raise ValueError(f"two findings tables for {key!r}")
        lines = text[marker.end() :].lstrip("\n").splitlines()
        if len(lines) < 2 or _cells(lines[0])[:4] != ["Run", "Code", "Severity", "Kind"]:
            raise ValueError(f"the findings table of {key!r} does not follow its marker")
        rows: list[Row] = []
        for line in lines[2:]:
            if not line.startswith("|"):
                break
            cells = _cells(line)
            if len(cells) != 6:
                raise ValueError(f"{key!r}: a row has {len(cells)} cells, not 6: {line}")
            run, code_cell, severity, kind, what, rule = cells
            code = _CODE.match(code_cell)
            if code is None or run not in RUNS or severity not in SEVERITIES or kind not in KINDS:
                raise ValueError(f"{key!r}: malformed row: {line}")
            rows.append(Row(run, code.group("code"), severity, kind, what, rule))
        found[key] = rows
    return found
