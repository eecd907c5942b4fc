#!/usr/bin/env python3
"""Rewrite README.md's sample outputs from the reporters' golden files (`make readme`).

A sample typed by hand drifts from what the tool prints the first time a reporter changes; the
golden files cannot drift (tests/reporters/test_golden.py compares them with the reporters'
output), so the README copies them. Each sample sits between marker comments naming its golden
file without the extension:

    <!-- sample: failing.text -->
    ```
    ...the contents of tests/reporters/golden/failing.text.txt...
    ```
    <!-- /sample -->

`python scripts/readme.py` rewrites README.md in place; `--check` only says whether it would
change anything (exit 1 if so). tests/test_readme.py fails when README.md is out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GOLDEN = ROOT / "tests" / "reporters" / "golden"

SAMPLE = re.compile(
    r"(?P<open><!-- sample: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(?P<close><!-- /sample -->)",
    re.DOTALL,
)
"""One sample: its opening marker, whatever is between (the fenced block), its closing marker."""

FENCE_LANGUAGE = {".txt": "", ".json": "json", ".md": "markdown", ".xml": "xml", ".html": "html"}
"""The fenced block's language for a golden file's extension (none for the text report)."""


def golden_file(name: str) -> Path:
    """The one golden file `name` (e.g. `failing.text`) stands for, whatever its extension."""
    matches = sorted(GOLDEN.glob(f"{name}.*"))
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise SystemExit(f"README sample {name!r}: expected one golden file, found {found}")
    return matches[0]


def fenced(path: Path) -> str:
    """The golden file as a fenced block; a longer fence if the file itself holds ```."""
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{FENCE_LANGUAGE.get(path.suffix, '')}\n{text}{fence}\n"


def render(readme: str) -> str:
    """README text with every sample block replaced by its golden file's current contents."""
    return SAMPLE.sub(
        lambda m: m["open"] + fenced(golden_file(m["name"])) + m["close"],
        readme,
    )


def main(argv: list[str] | None = None) -> int:
    """Rewrite README.md, or with --check report whether it is out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if wanted == current:
        return 0
    if args.check:
        print("README.md's samples are stale: run `make readme`", file=sys.stderr)
        return 1
    README.write_text(wanted, encoding="utf-8")
    print("rewrote README.md's samples from tests/reporters/golden/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
