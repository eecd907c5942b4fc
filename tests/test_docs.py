"""The public interface's documentation cannot drift: catalogue, generated docs, schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

from scim_doctor.checks import CHECK_IDS
from scim_doctor.core.findings import CATALOGUE
from scim_doctor.reporters import findings_doc as docs_gen

DOCS = Path(__file__).resolve().parent.parent / "docs"
CROSS_CUTTING = {"http", "run"}


def test_docs_findings_md_is_generated_from_the_current_catalogue() -> None:
    committed = (DOCS / "findings.md").read_text(encoding="utf-8")
    assert committed == docs_gen.render(), "docs/findings.md is stale: run `make docs`"


def test_every_code_is_check_id_dot_snake_case_or_cross_cutting() -> None:
    for code in CATALOGUE:
        family, _, name = code.partition(".")
        assert family in set(CHECK_IDS) | CROSS_CUTTING | {"lifecycle"}, code
        assert re.fullmatch(r"[a-z0-9_]+", name), code


def test_every_code_matches_the_schema_pattern() -> None:
    schema = json.loads((DOCS / "report-schema-v1.json").read_text(encoding="utf-8"))
    pattern = re.compile(schema["$defs"]["code"]["pattern"])
    assert all(pattern.match(code) for code in CATALOGUE)


def test_every_entry_says_what_why_how_and_where_from() -> None:
    for spec in CATALOGUE.values():
        assert spec.title and spec.why and spec.fix and spec.reference, spec.code
        assert spec.why.endswith((".", ")")) and spec.fix.endswith((".", ")")), spec.code


def test_the_schema_lists_every_check_id() -> None:
    schema = json.loads((DOCS / "report-schema-v1.json").read_text(encoding="utf-8"))
    assert set(CHECK_IDS) <= set(schema["$defs"]["check"]["properties"]["id"]["enum"])
