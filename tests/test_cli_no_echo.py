"""A value typed where it does not belong is never repeated if it may be a token (issue 14/6).

Admins paste tokens in the wrong place, and the error line goes into a scrollback, a CI log or
a ticket. Every option and every argument of every command, taken from click's command tree (a
new option is covered the day it is added), is given canaries of the token shapes met in the
field; the one error line must hold no 8 characters of them, and the exit code must be 2.

Nothing here reaches a server: every case fails on its input before any network step, and the
base URL is 127.0.0.1 port 9 (nothing listens) with short time limits in case one does not.
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from scim_doctor.cli import cli
from scim_doctor.cli.app import every_command
from scim_doctor.core.credentials import read_token
from scim_doctor.core.echo import looks_like_token, may_echo, scrub, shown


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _canaries(seed: int) -> dict[str, str]:
    """Four token shapes from a seeded generator: the same canaries on every run."""
    rng = random.Random(seed)
    header = _b64url(b'{"alg":"RS256","typ":"JWT"}')
    claims = {
        "iss": "https://login.example.com/",
        "sub": rng.randbytes(8).hex(),
        "iat": 1700000000,
        "scope": "scim",
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    return {
        "jwt": f"{header}.{payload}.{_b64url(rng.randbytes(64))}",
        "hex40": rng.randbytes(20).hex(),
        "prefixed": "scim_" + _b64url(rng.randbytes(24)),
        "base64": base64.b64encode(rng.randbytes(31)).decode("ascii"),
    }


CANARIES = _canaries(14)
URL = "https://127.0.0.1:9/scim/v2"
FAST = ["--timeout", "0.5", "--deadline", "1"]
ENV: dict[str, str | None] = {
    "SCIM_TOKEN": "a-fine-token-that-is-not-a-canary",
    "GITHUB_ACTIONS": None,
    "SSL_CERT_FILE": None,
    "SSL_CERT_DIR": None,
}
SAFE_ARGUMENT = {
    "base_url": URL,
    "old_report": "{report}",
    "new_report": "{report}",
    "reports": "{report}",
    "code": "tls.cert_expired",
}
"""A good value for each argument, so that the canary is the only mistake on the line."""


def _base(command: str, param: str | None = None) -> list[str]:
    """What `command` needs besides the value under test (`param`: the option given it)."""
    if command == "check" and param == "config_path":
        return list(FAST)
    if command == "check" and param in ("target_names", "target_tags", "concurrency"):
        return ["--config", "{config}", *FAST]
    arguments = [
        SAFE_ARGUMENT[p.name or ""] for p in every_command()[command].params if _is_argument(p)
    ]
    timing = FAST if command in ("check", "cleanup", "demo") else []
    if param in ("timeout", "deadline"):
        timing = []
    return [*arguments, *timing]


def _is_argument(param: click.Parameter) -> bool:
    return isinstance(param, click.Argument)


def _long_name(option: click.Option) -> str:
    return max(option.opts, key=len)


def _cases() -> list[tuple[str, list[str]]]:
    """(id, argv with {canary}) for every option and argument position of every command, an
    extra argument after each command's arguments, and the command name itself."""
    cases: list[tuple[str, list[str]]] = [("command name", ["{canary}"])]
    for group_option in cli.params:
        if isinstance(group_option, click.Option):
            cases.append(
                (f"{_long_name(group_option)}=", [f"{_long_name(group_option)}={{canary}}"])
            )
    for name, command in sorted(every_command().items()):
        arguments = [p for p in command.params if _is_argument(p)]
        for index, argument in enumerate(arguments):
            argv = [name, *_base(name)]
            argv[1 + index] = "{canary}"
            cases.append((f"{name} {argument.human_readable_name}", argv))
        cases.append((f"{name} extra argument", [name, *_base(name), "{canary}"]))
        for option in command.params:
            if not isinstance(option, click.Option):
                continue
            flag = _long_name(option)
            base = [name, *_base(name, option.name)]
            cases.append((f"{name} {flag}", [*base, flag, "{canary}"]))
            cases.append((f"{name} {flag}=", [*base, f"{flag}={{canary}}"]))
    return cases


def _leak(output: str, canary: str) -> str | None:
    """The first 8 characters in a row of `canary` that `output` holds, if any."""
    return next(
        (canary[i : i + 8] for i in range(len(canary) - 7) if canary[i : i + 8] in output), None
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"schema_version": "1", "checks": []}))
    config = tmp_path / "scim-doctor.toml"
    config.write_text(f'[[targets]]\nname = "local"\nurl = "{URL}"\ntags = ["eu"]\ntimeout = 0.5\n')
    return {"report": str(report), "config": str(config)}


def _one_error_line(result: Any) -> str:
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, result.stdout + result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("scim-doctor: error: "), result.stderr
    assert result.stdout == ""
    return str(lines[0])


# --- the canaries ------------------------------------------------------------------------------


def test_the_canaries_have_the_shapes_of_real_tokens_and_are_recognised_as_tokens() -> None:
    jwt = CANARIES["jwt"].split(".")
    assert len(jwt) == 3 and jwt[0].startswith("eyJ") and jwt[1].startswith("eyJ")
    assert len(CANARIES["hex40"]) == 40 and int(CANARIES["hex40"], 16) >= 0
    assert CANARIES["prefixed"].startswith("scim_") and len(CANARIES["prefixed"]) == 5 + 32
    assert "/" in CANARIES["base64"] and CANARIES["base64"].endswith("=")
    assert all(looks_like_token(canary) for canary in CANARIES.values())
    assert CANARIES == _canaries(14)  # seeded: the same on every run


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["dnss", "tls.nope", "NOPE_TOKEN", "no_such_fault", "ping", "https://scim.example.com/scim/v2"],
)
def test_ordinary_wrong_values_may_be_repeated(value: str) -> None:
    assert may_echo(value)
    assert shown(value, quote=True) == repr(value)


@pytest.mark.parametrize("name", sorted(CANARIES))
def test_a_token_is_described_by_its_length_and_never_shown(name: str) -> None:
    canary = CANARIES[name]
    assert not may_echo(canary)
    assert (
        shown(canary, quote=True) == f"[{len(canary)} characters that look like a token, not shown]"
    )


def test_a_path_is_judged_by_the_part_that_does_not_exist_yet(tmp_path: Path) -> None:
    """Given a directory named by a UUID (as CI runners make them), a file in it may be named;
    a token-shaped name for a file that does not exist may not."""
    directory = tmp_path / "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    directory.mkdir()
    assert may_echo(str(directory / "report.json"), path=True)
    assert not may_echo(str(directory / "report.json"))
    assert not may_echo(str(tmp_path / CANARIES["hex40"]), path=True)


def test_the_last_scrub_hides_token_shaped_runs_and_keeps_a_typed_existing_path(
    tmp_path: Path,
) -> None:
    existing = tmp_path / "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    existing.mkdir()
    line = f"error: {CANARIES['hex40']} and {existing}: no such file"
    scrubbed = scrub(line, [str(existing)])
    assert _leak(scrubbed, CANARIES["hex40"]) is None
    assert str(existing) in scrubbed
    assert scrub("error: --only 'dnss': unknown check") == "error: --only 'dnss': unknown check"


# --- scenarios ---------------------------------------------------------------------------------


def test_a_jwt_pasted_after_the_url_is_not_echoed_and_the_message_says_to_use_scim_token(
    run_cli: Any,
) -> None:
    result = run_cli("check", URL, *FAST, CANARIES["jwt"], env=ENV)
    line = _one_error_line(result)
    assert _leak(line, CANARIES["jwt"]) is None
    assert "extra argument after BASE_URL" in line
    assert f"{len(CANARIES['jwt'])} characters" in line
    assert "SCIM_TOKEN" in line and "never as an argument" in line


def test_a_token_given_to_token_env_is_not_echoed_and_the_message_asks_for_a_variable_name(
    run_cli: Any,
) -> None:
    result = run_cli("check", URL, *FAST, "--token-env", CANARIES["base64"], env=ENV)
    line = _one_error_line(result)
    assert _leak(line, CANARIES["base64"]) is None
    assert "--token-env takes the NAME of an environment variable" in line
    assert "put the token in that variable instead" in line


def test_a_token_given_to_token_file_is_not_echoed_and_the_message_asks_for_a_path(
    run_cli: Any,
) -> None:
    result = run_cli("check", URL, *FAST, "--token-file", CANARIES["hex40"], env=ENV)
    line = _one_error_line(result)
    assert _leak(line, CANARIES["hex40"]) is None
    assert "--token-file takes the PATH of a file that holds the token" in line


def test_a_token_typed_in_place_of_the_base_url_is_not_echoed_and_the_message_asks_for_the_url(
    run_cli: Any,
) -> None:
    result = run_cli("check", CANARIES["prefixed"], *FAST, env=ENV)
    line = _one_error_line(result)
    assert _leak(line, CANARIES["prefixed"]) is None
    assert "looks like a token, not a URL" in line and "https://example.com/scim/v2" in line


def test_a_token_given_to_a_choice_names_the_option_and_its_choices_but_not_the_value(
    run_cli: Any,
) -> None:
    result = run_cli("check", URL, *FAST, "--format", CANARIES["hex40"], env=ENV)
    line = _one_error_line(result)
    assert _leak(line, CANARIES["hex40"]) is None
    assert "'--format'" in line and "one of text, json, html, junit, markdown" in line


def test_a_token_typed_as_the_command_is_not_echoed_and_the_commands_are_listed(
    run_cli: Any,
) -> None:
    line = _one_error_line(run_cli(CANARIES["hex40"], env=ENV))
    assert _leak(line, CANARIES["hex40"]) is None
    assert "No such command" in line and "check, cleanup, codes, demo, diff, explain" in line


def test_a_token_given_as_the_report_file_is_refused_and_no_file_is_written(
    run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written, the report would carry the token in its name, on disk and in 'wrote NAME'."""
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", URL, *FAST, "--report", f"json={CANARIES['hex40']}", env=ENV)
    line = _one_error_line(result)
    assert _leak(line, CANARIES["hex40"]) is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "repeated"),
    [
        (["check", URL, "--only", "dnss"], "'dnss'"),
        (["check", URL, "--token-env", "NOPE_TOKEN"], "NOPE_TOKEN"),
        (["check", URL, "--fail-on", "info"], "'info'"),
        (["check", URL, "--tokenn", "x"], "--tokenn"),
        (["explain", "tls.nope"], "'tls.nope'"),
        (["chekc", URL], "chekc"),
        (["check", URL, "extra"], "(extra)"),
    ],
    ids=["check id", "variable name", "choice", "option", "finding code", "command", "extra"],
)
def test_ordinary_mistakes_are_still_repeated(run_cli: Any, argv: list[str], repeated: str) -> None:
    line = _one_error_line(run_cli(*argv, env={**ENV, "NOPE_TOKEN": None}))
    assert repeated in line
    assert "not shown" not in line


def test_an_existing_ca_file_is_named_even_in_a_directory_named_like_a_token(
    run_cli: Any, tmp_path: Path
) -> None:
    directory = tmp_path / "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    directory.mkdir()
    garbage = directory / "ca.pem"
    garbage.write_text("not a certificate\n")
    line = _one_error_line(run_cli("check", URL, *FAST, "--cacert", str(garbage), env=ENV))
    assert f"--cacert {garbage}: holds no PEM certificate" in line


def test_a_variable_named_like_a_token_is_still_read_when_it_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the error is worded differently: a set variable with an odd name still works."""
    name = "SCIM_TOKEN_9F8E7D6C5B4A39281706"
    monkeypatch.setenv(name, "the-token-in-an-oddly-named-variable")
    token = read_token(token_env=name, token_file=None, token_stdin=False)
    assert token.reveal() == "the-token-in-an-oddly-named-variable"


# --- every option and argument of every command ------------------------------------------------


@pytest.mark.parametrize(("case", "argv"), _cases(), ids=[case for case, _ in _cases()])
def test_every_option_and_argument_given_a_token_exits_2_without_repeating_any_of_it(
    run_cli: Any,
    files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    argv: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # were a report written under a canary's name, not in the repo
    for name, canary in CANARIES.items():
        args = [arg.format(canary=canary, **files) for arg in argv]
        result = run_cli(*args, env=ENV)
        output = result.stdout + result.stderr
        leaked = _leak(output, canary)
        assert leaked is None, f"{case} with the {name} canary repeats {leaked!r}: {output}"
        assert "Traceback" not in output
        _one_error_line(result)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", URL, *FAST, CANARIES["jwt"]],
        ["check", URL, *FAST, "--token-env", CANARIES["prefixed"]],
        [CANARIES["base64"]],
    ],
    ids=["extra argument", "--token-env", "command name"],
)
def test_the_console_script_in_a_subprocess_repeats_no_canary(argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    env["SCIM_TOKEN"] = "a-fine-token-that-is-not-a-canary"
    done = subprocess.run(
        [sys.executable, "-m", "scim_doctor", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    for canary in CANARIES.values():
        assert _leak(done.stdout + done.stderr, canary) is None, done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_report_file_named_after_a_demo_fault_is_accepted_not_taken_for_a_token(
    tmp_path: Path,
) -> None:
    """`users_zero_based_start.html`: 'html' has no vowel, and the plain name around it once
    made the whole file name look unpronounceable, so the output path was refused."""
    from scim_doctor.core.echo import may_echo

    assert may_echo(str(tmp_path / "new" / "users_zero_based_start.html"), path=True)
    assert not may_echo(str(tmp_path / "new" / "Kq8vZ2mP0xR7tY4wB9nC3dF6gH1jL5s.html"), path=True)
