"""The `scim-doctor` group, its commands, and `main()`: every failure -> one line + exit code.

Exit codes (a public interface): 0 nothing at or above --fail-on, 1 problems found, 2 usage
error (one line on stderr, never a traceback, never a value that looks like a token: see
scim_doctor.core.echo), 3 scim-doctor itself failed, 130 interrupted:
Ctrl-C, or SIGTERM / SIGHUP while `check`, `cleanup` or `demo` runs (scim_doctor.signals).

Start-up matters for a command people run often: only click and a few import-free modules are
loaded at import time; everything else is imported where it is used. Each command lives in its
own module and is registered here, so no command module imports this one.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from scim_doctor import __version__
from scim_doctor.cli import collector
from scim_doctor.cli.check import check
from scim_doctor.cli.delivery import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from scim_doctor.core.errors import InputError

# httpx's package imports its own command-line client (`httpx._main`: rich, pygments) whenever
# those happen to be installed, for the `httpx` console script alone: some 40 ms of every run's
# start-up where they are (issue 21). Marked absent before the first `import httpx`, httpx takes
# its own `except ImportError` fallback; a process that imported httpx earlier keeps it as is.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


_ELSEWHERE = {
    "cleanup": "scim_doctor.cli.cleanup:cleanup",
    "codes": "scim_doctor.cli.catalogue:codes",
    "demo": "scim_doctor.cli.demo:demo",
    "diff": "scim_doctor.cli.diff:diff",
    "explain": "scim_doctor.cli.catalogue:explain",
    "merge": "scim_doctor.cli.merge:merge",
    "serve": "scim_doctor.cli.serve:serve",
}
"""The commands other than `check`, each imported when it is asked for (run, or listed by
--help): every module a `check` process imports is start-up it pays (issue 21)."""


class _Commands(click.Group):
    """`check` registered at import, the others (`_ELSEWHERE`) on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_ELSEWHERE})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _ELSEWHERE:
            module, _, name = _ELSEWHERE[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


def every_command() -> dict[str, click.Command]:
    """Each command by name, all of them imported (for tests and documentation)."""
    ctx = click.Context(cli)
    found = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    return {name: command for name, command in found.items() if command is not None}


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="scim-doctor")
def cli() -> None:
    """Diagnose why an identity provider cannot talk to a SCIM 2.0 endpoint, and how to fix it."""
    if click.get_current_context().invoked_subcommand != "check":
        collector.resume()  # `check` resumes when its run begins (scim_doctor.cli.collector)


cli.add_command(check)


def _fail(message: str, code: int, typed: Sequence[str] = ()) -> NoReturn:
    """One line on stderr and the exit code; a usage error's line is scrubbed of anything that
    may be a token first (`typed`: the values on the command line). With `--format nagios` the
    line is the plugin's `SCIM UNKNOWN - ...` on stdout and the exit code 3 (UNKNOWN), as a
    monitoring system expects of a plugin that could not check."""
    from scim_doctor.core.output import say

    if code == EXIT_USAGE:
        from scim_doctor.core.echo import hint_if_hidden, scrub

        message = hint_if_hidden(scrub(message, typed))
    if _nagios_requested(typed):
        from scim_doctor.reporters import nagios

        if code == EXIT_USAGE:
            message = "bad input: " + message.removeprefix("error: ")
        with contextlib.suppress(OSError):
            click.echo(nagios.unknown(message), nl=False)
        raise SystemExit(int(nagios.State.UNKNOWN))
    try:
        say(f"scim-doctor: {message}")
    except OSError:  # stderr is gone (SIGHUP: the terminal closed); the exit code still counts
        pass
    raise SystemExit(code)


def _nagios_requested(typed: Sequence[str]) -> bool:
    """Whether the command line asks for `--format nagios` (before click has parsed it: a usage
    error must already come out as a plugin's UNKNOWN)."""
    words = list(typed)
    return "--format=nagios" in words or any(
        word == "--format" and following == "nagios"
        for word, following in itertools.pairwise(words)
    )


def _interrupted() -> str:
    from scim_doctor.core.signals import received

    by = received()
    return f"interrupted by {by}" if by else "interrupted"


def _typed(argv: Sequence[str]) -> list[str]:
    """Every value on the command line: each argument, and the value in `--name=VALUE` and in
    a short option's `-oVALUE`."""
    values = list(argv)
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            values.append(arg.partition("=")[2])
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            values.append(arg[2:])
    return values


def _expected(param: click.Parameter) -> str:
    """What a parameter takes, from its click type: for a message that cannot show the value."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return "one of " + ", ".join(str(choice) for choice in kind.choices)
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        number = "an integer" if isinstance(kind, click.IntRange) else "a number"
        bounds = [f"at least {kind.min}"] if kind.min is not None else []
        bounds += [f"at most {kind.max}"] if kind.max is not None else []
        return f"{number} {' and '.join(bounds)}".strip()
    if isinstance(kind, click.types.IntParamType):
        return "an integer"
    if isinstance(kind, click.types.FloatParamType):
        return "a number"
    return f"a {kind.name}"


def _usage_message(exc: click.UsageError, typed: Sequence[str]) -> str:
    """Click's message; or, when it would repeat a value that may be a token (core/echo.py),
    the message rebuilt from the exception's fields (param, ctx) without the value."""
    from scim_doctor.core.echo import WHERE_TOKENS_GO, hidden, may_echo

    message = exc.format_message()
    unsafe = sorted(
        (value for value in typed if value in message and not may_echo(value, path=True)),
        key=len,
        reverse=True,
    )
    if not unsafe:
        return message
    value = hidden(unsafe[0])
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        return (
            f"Invalid value for {exc.param.get_error_hint(exc.ctx)}: {value}; expected "
            f"{_expected(exc.param)}"
        )
    if isinstance(exc, click.NoSuchOption):
        return f"No such option {value}."
    command = exc.ctx.command if exc.ctx is not None else None
    if isinstance(command, click.Group):  # the name of a command was expected
        return f"No such command {value} (commands: {', '.join(sorted(command.commands))})."
    # The one other usage error click words with what was typed: unexpected extra arguments.
    arguments = [
        p.human_readable_name
        for p in getattr(command, "params", ())
        if isinstance(p, click.Argument)
    ]
    after = f" after {' and '.join(arguments)}" if arguments else ""
    return (
        f"Got an unexpected extra argument{after}: {value}; pass tokens in {WHERE_TOKENS_GO}, "
        "never as an argument"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: maps every failure to one line and a documented exit code.

    Run as the process itself (no `argv`: the console script, `python -m scim_doctor`), it
    pauses the garbage collector for start-up (scim_doctor.cli.collector) and leaves through
    `_leave`, without the interpreter's tear-down."""
    if argv is None:
        collector.pause()
    try:
        _main(argv)
    except SystemExit as done:
        if argv is None:
            _leave(done.code)
        raise
    finally:
        collector.resume()


def _leave(code: object) -> None:
    """Exit now, as a normal exit would but for the interpreter's tear-down: freeing every
    module and object of the run costs some 40 ms of each run's wall time (issue 21), and
    nothing scim-doctor keeps open needs it (reports are written and closed, a spilled body is
    an unnamed temporary file). The output is flushed and the atexit handlers run first; with
    another non-daemon thread still running (a clean-up finishing its deletes) or an output
    that cannot be flushed, the ordinary exit goes on instead, and reports what it must."""
    import atexit
    import os
    import threading

    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        return
    if code is None:
        status = EXIT_OK
    elif isinstance(code, int):
        status = code
    else:
        return  # a message to print: the ordinary exit prints it
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe: the ordinary exit says so (and exits 120)
        return
    atexit._run_exitfuncs()
    os._exit(status)


def _main(argv: Sequence[str] | None) -> None:
    typed = _typed(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=argv, prog_name="scim-doctor", standalone_mode=False)
    except SystemExit:
        raise
    except click.UsageError as exc:
        if type(exc).__name__ in ("NoArgsIsHelp", "NoArgsIsHelpError") and exc.ctx is not None:
            click.echo(exc.ctx.get_help())
            raise SystemExit(EXIT_USAGE) from None
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _fail(f"error: {_usage_message(exc, typed)}{hint}", EXIT_USAGE, typed)
    except click.ClickException as exc:
        _fail(f"error: {exc.format_message()}", EXIT_USAGE, typed)
    except InputError as exc:
        _fail(f"error: {exc}", EXIT_USAGE, typed)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail(_interrupted(), EXIT_INTERRUPTED, typed)
    except Exception as exc:
        _fail(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in scim-doctor; please "
            "report it with the command you ran (the token is redacted).",
            EXIT_INTERNAL,
            typed,
        )
    raise SystemExit(result if isinstance(result, int) else EXIT_OK)
