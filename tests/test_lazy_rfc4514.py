"""cryptography's RFC 4514 name parser, its patterns compiled on first use (issue 21; see
scim_doctor._lazy_rfc4514). Each test runs in a fresh interpreter: the deferral is made at the
first import of cryptography.x509."""

from __future__ import annotations

import json
import subprocess
import sys

_NAMES = (
    r"CN=a\,b,O=Example+OU=x",
    r"2.5.4.3=#0c0161,C=DE",
    r"CN=\ leading and trailing\ ,O=Caf\C3\A9",
    r"CN=sub.example.com,L=S\+M,ST=\#hash",
)

_PARSE = """
import json, re, sys
{first}
from cryptography import x509
from cryptography.x509 import name

parser = name._RFC4514NameParser
before = [type(getattr(parser, a)).__name__ for a in ("_OID_RE", "_DESCR_RE", "_STRING_RE")]
parsed = []
for text in {names!r}:
    try:
        parsed.append(x509.Name.from_rfc4514_string(text).rfc4514_string())
    except ValueError as exc:
        parsed.append(f"ValueError: {{exc}}")
try:
    x509.Name.from_rfc4514_string("CN")
except ValueError as exc:
    parsed.append(f"ValueError: {{exc}}")
print(json.dumps({{
    "before": before,
    "other_uses": [parser._HEXSTRING_RE.split("x#0a0by"), parser._OID_RE.groups],
    "parsed": parsed,
    "real_re_everywhere": sys.modules["re"] is re
        and vars(name)["__builtins__"]["__import__"] is __import__,
}}))
"""


def _parse_in_a_fresh_interpreter(first: str) -> dict[str, object]:
    code = _PARSE.format(first=first, names=_NAMES)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_importing_x509_after_scim_doctor_compiles_none_of_the_name_parsers_patterns() -> None:
    deferred = _parse_in_a_fresh_interpreter("import scim_doctor")

    assert deferred["before"] == ["DeferredPattern"] * 3
    assert deferred["real_re_everywhere"] is True


def test_names_parse_and_patterns_answer_exactly_as_when_compiled_at_import() -> None:
    deferred = _parse_in_a_fresh_interpreter("import scim_doctor")
    eager = _parse_in_a_fresh_interpreter("")

    assert eager["before"] == ["Pattern"] * 3
    assert deferred["parsed"] == eager["parsed"]
    assert deferred["other_uses"] == eager["other_uses"] == [["x", "0b", "y"], 5]
    assert len(deferred["parsed"]) == len(_NAMES) + 1  # type: ignore[arg-type]
    assert str(deferred["parsed"][-1]).startswith("ValueError")  # type: ignore[index]


def test_nothing_is_deferred_when_cryptography_was_imported_first() -> None:
    first = "import cryptography.x509\nimport scim_doctor"
    already = _parse_in_a_fresh_interpreter(first)

    assert already["before"] == ["Pattern"] * 3
