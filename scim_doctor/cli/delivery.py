"""One target's report after the run: render it, write it where the options say, and turn its
verdict into the exit code. The exit codes live here because the verdict is where they begin.

Exit codes (a public interface): 0 nothing at or above --fail-on, 1 problems found, 2 usage
error, 3 scim-doctor itself failed, 130 interrupted (see scim_doctor.cli.app).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NamedTuple

from scim_doctor.core.errors import InputError

if TYPE_CHECKING:
    from scim_doctor.core.model import Report, Severity
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import Target

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class ReportOptions(NamedTuple):
    output_format: str
    output: str
    verbose: bool
    fail_on: Severity
    extra: tuple[tuple[str, str], ...] = ()
    """(format, path) of every --report."""
    bundle: str | None = None
    """--bundle PATH.zip."""
    show_pii: bool = False


def run_target(
    target: Target, options: Options, token: Secret | None, *, quiet: bool = False
) -> Report:
    """One target's checks, trusting what --cacert says (`check` and `demo`), with a status
    line on a terminal while a slow run has nothing to show (scim_doctor.cli.status_line)."""
    from scim_doctor.cli import collector
    from scim_doctor.cli.status_line import StatusLine, wanted
    from scim_doctor.net.trust import load_trust
    from scim_doctor.runs.runner import run

    collector.resume()
    trust = load_trust(options.cacert, options.trust_store, options.client_cert)
    with StatusLine(options.deadline, enabled=wanted(sys.stderr, quiet=quiet)) as status:
        return run(target, options, token, trust, status if status.enabled else None)


def exit_code(report: Report, fail_on: Severity) -> int:
    from scim_doctor.core.model import Status

    if any(check.status is Status.ERROR for check in report.checks):
        return EXIT_INTERNAL
    return EXIT_PROBLEMS if report.problems(at_least=fail_on) else EXIT_OK


def use_color() -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def text_width(destination: str = "-") -> int:
    """Columns for the text report: COLUMNS when set (the user's explicit choice), else the
    terminal's width when stdout is one, else the text reporter's fixed PIPE_WIDTH (100), so a
    file, a pipe or a CI log gets the same layout whatever terminal it was made from."""
    from scim_doctor.reporters.text import PIPE_WIDTH

    if destination != "-":
        return PIPE_WIDTH
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    return PIPE_WIDTH


def github_actions() -> bool:
    """Under GitHub Actions the report also becomes annotations and a step summary."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def deliver(report: Report, how: ReportOptions) -> int:
    """Render, write, and turn the verdict into the exit code."""
    from scim_doctor.core.output import say, write_output

    for output_format, destination in ((how.output_format, how.output), *how.extra):
        written = write_output(
            render(report, output_format, how, destination),
            destination,
        )
        if written is not None:
            say(f"wrote {written}")
    write_bundle(report, how)
    if how.output_format == "nagios":
        return nagios_exit_code(report)
    return exit_code(report, how.fail_on)


def nagios_exit_code(report: Report | None) -> int:
    """With `--format nagios` the exit code is the plugin's state (0 OK, 1 WARNING, 2 CRITICAL,
    3 UNKNOWN), as Nagios, Icinga and Checkmk read it; no report at all is UNKNOWN."""
    from scim_doctor.reporters import nagios

    return int(nagios.state(report)) if report is not None else int(nagios.State.UNKNOWN)


def write_bundle(report: Report, how: ReportOptions) -> None:
    """The --bundle zip, when asked for: every format at once, redacted, for a support ticket."""
    if how.bundle is None:
        return
    from pathlib import Path

    from scim_doctor.core.output import say
    from scim_doctor.reporters import bundle

    path = bundle.write_bundle(
        report, Path(how.bundle), command=bundle.command_line(sys.argv), show_pii=how.show_pii
    )
    say(f"wrote {path}")


def render(report: Report, output_format: str, how: ReportOptions, destination: str) -> str:
    """The report in one format; text and JUnit need the report options, and text where it
    goes (colour and width), the others do not."""
    if output_format == "text":
        from scim_doctor.reporters import text as text_reporter

        return text_reporter.render(
            report,
            color=destination == "-" and use_color(),
            verbose=how.verbose,
            width=text_width(destination),
        )
    if output_format == "junit":
        from scim_doctor.reporters import junit

        return junit.render_with(report, how.fail_on)
    from scim_doctor.reporters import renderer

    try:
        render_format = renderer(output_format)
    except ModuleNotFoundError:
        raise InputError(f"the {output_format} format is not available in this version") from None
    return render_format(report)
