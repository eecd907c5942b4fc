"""Bad input at the command line: exit code 2, exactly one line on stderr, no traceback, and
never an echo of the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CANARY = "canary-TOKEN-3f9c1e7a5b"


def _files(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not a certificate\n")
    binary = tmp_path / "binary.tok"
    binary.write_bytes(b"\x00\xff\xfe" * 10)
    huge = tmp_path / "huge.tok"
    huge.write_bytes(b"a" * 1_000_000)
    blank = tmp_path / "blank.tok"
    blank.write_text("\n")
    latin = tmp_path / "latin1.tok"
    latin.write_bytes("caf\xe9-token".encode("latin-1"))
    return {
        "garbage": garbage,
        "binary": binary,
        "huge": huge,
        "blank": blank,
        "latin": latin,
        "dir": tmp_path,
        "missing": tmp_path / "nope.pem",
    }


URL = "https://scim.example.com/scim/v2"

# (case id, argv, environment overrides, a word the one line must contain)
BAD_INVOCATIONS: list[tuple[str, list[str], dict[str, str | None], str]] = [
    ("ftp scheme", ["check", "ftp://scim.example.com/scim"], {}, "scheme"),
    ("no scheme", ["check", "scim.example.com/scim/v2"], {}, "no scheme"),
    ("no host", ["check", "https:///scim/v2"], {}, "no host"),
    ("empty url", ["check", ""], {}, "empty"),
    ("space in url", ["check", "https://scim example.com/"], {}, "whitespace"),
    ("port out of range", ["check", "https://scim.example.com:70000/scim"], {}, "not a valid"),
    ("port zero", ["check", "https://scim.example.com:0/scim"], {}, "port 0"),
    ("bad ipv6 literal", ["check", "https://[::1/scim"], {}, "not a valid"),
    ("bad host name", ["check", "https://exa$mple.com/scim"], {}, "host name"),
    (
        "credentials in url",
        ["check", f"https://admin:{CANARY}@scim.example.com/"],
        {},
        "credentials",
    ),
    ("timeout not a number", ["check", URL, "--timeout", "abc"], {}, "--timeout"),
    ("timeout zero", ["check", URL, "--timeout", "0"], {}, "--timeout"),
    ("timeout negative", ["check", URL, "--timeout", "-3"], {}, "--timeout"),
    ("deadline zero", ["check", URL, "--deadline", "0"], {}, "--deadline"),
    ("resolve malformed", ["check", URL, "--resolve", "scim.example.com"], {}, "--resolve"),
    ("resolve port", ["check", URL, "--resolve", "h:https:127.0.0.1"], {}, "--resolve"),
    ("resolve port range", ["check", URL, "--resolve", "h:99999:127.0.0.1"], {}, "range"),
    ("resolve not ip", ["check", URL, "--resolve", "h:443:localhost"], {}, "IP address"),
    ("cacert missing", ["check", URL, "--cacert", "{missing}"], {}, "no such file"),
    ("cacert directory", ["check", URL, "--cacert", "{dir}"], {}, "directory"),
    ("cacert not pem", ["check", URL, "--cacert", "{garbage}"], {}, "PEM"),
    ("token missing", ["check", URL], {"SCIM_TOKEN": None}, "no token"),
    ("token empty", ["check", URL], {"SCIM_TOKEN": ""}, "empty"),
    ("token blank", ["check", URL], {"SCIM_TOKEN": "   "}, "empty"),
    ("token env unset", ["check", URL, "--token-env", "NOPE_TOKEN"], {"NOPE_TOKEN": None}, "NOPE"),
    ("token env bad name", ["check", URL, "--token-env", "A=B"], {}, "--token-env"),
    ("token file missing", ["check", URL, "--token-file", "{missing}"], {}, "cannot be read"),
    ("token file directory", ["check", URL, "--token-file", "{dir}"], {}, "directory"),
    ("token file binary", ["check", URL, "--token-file", "{binary}"], {}, "binary"),
    ("token file 1 MB", ["check", URL, "--token-file", "{huge}"], {}, "too large"),
    ("token file blank", ["check", URL, "--token-file", "{blank}"], {}, "empty"),
    ("token file latin-1", ["check", URL, "--token-file", "{latin}"], {}, "UTF-8"),
    ("two token sources", ["check", URL, "--token-env", "X", "--token-stdin"], {}, "one of"),
    ("no-token with source", ["check", URL, "--no-token", "--token-env", "X"], {}, "--no-token"),
    ("unknown check", ["check", URL, "--only", "dns,bogus"], {}, "unknown check"),
    ("bad fail-on", ["check", URL, "--fail-on", "info"], {}, "--fail-on"),
    ("bad format", ["check", URL, "--format", "yaml"], {}, "--format"),
    ("output dir missing", ["check", URL, "-o", "{missing}/x/report.json"], {}, "--output"),
    ("unknown option", ["check", URL, "--tokenn", "x"], {}, "--tokenn"),
    ("bad proxy", ["check", URL, "--proxy", "ftp://proxy"], {}, "--proxy"),
    ("unknown command", ["chekc", URL], {}, "chekc"),
    ("report without path", ["check", URL, "--report", "json"], {}, "--report"),
    ("report unknown format", ["check", URL, "--report", "pdf=r.pdf"], {}, "--report"),
    (
        "report into missing dir",
        ["check", URL, "--report", "json={missing}/x/r.json"],
        {},
        "--output",
    ),
    (
        "two reports one file",
        ["check", URL, "--report", "json={dir}/r", "--report", "text={dir}/r"],
        {},
        "same file",
    ),
    ("explain unknown code", ["explain", "tls.nope"], {}, "unknown finding code"),
    ("unknown demo fault", ["demo", "--fault", "no_such_fault"], {}, "unknown"),
    ("unknown idp", ["check", URL, "--idp", "ping"], {}, "identity provider"),
    ("max body not a size", ["check", URL, "--max-body", "lots"], {}, "--max-body"),
    ("max body too small", ["check", URL, "--max-body", "10"], {}, "--max-body"),
]


@pytest.mark.parametrize(
    ("argv", "env", "word"),
    [pytest.param(a, e, w, id=i) for i, a, e, w in BAD_INVOCATIONS],
)
def test_bad_invocation_exits_2_with_one_clear_line(
    run_cli: Any, tmp_path: Path, argv: list[str], env: dict[str, str | None], word: str
) -> None:
    files = _files(tmp_path)
    args = [arg.format(**files) if "{" in arg else arg for arg in argv]
    environment: dict[str, str | None] = {"SCIM_TOKEN": CANARY, **env}
    result = run_cli(*args, env=environment)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert word.lower() in lines[0].lower()
    assert "Traceback" not in result.stderr + result.stdout
    assert CANARY not in result.stderr + result.stdout
    assert result.stdout == ""


def test_the_token_cannot_be_given_as_an_option_value(run_cli: Any) -> None:
    """Given a user who tries --token VALUE, the value is refused, not used and not echoed."""
    result = run_cli("check", URL, "--token", CANARY)
    assert result.exit_code == 2
    assert CANARY not in result.stderr
