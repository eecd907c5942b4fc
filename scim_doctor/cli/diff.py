"""`diff`: what changed between two JSON reports, with "got worse" as the exit code."""

from __future__ import annotations

import click

from scim_doctor.cli.delivery import EXIT_OK, EXIT_PROBLEMS


@click.command()
@click.argument("old_report")
@click.argument("new_report")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Format of the list of changes.",
)
@click.option("--output", "-o", default="-", metavar="PATH", help="Where to write ('-' = stdout).")
def diff(old_report: str, new_report: str, output_format: str, output: str) -> None:
    """What changed between two JSON reports; exit 1 when something got worse.

    OLD_REPORT and NEW_REPORT are files written by `check --format json` (or --report
    json=PATH); see docs/diff.md.
    """
    from pathlib import Path

    from scim_doctor.core.output import check_destination, say, write_output
    from scim_doctor.reporters import diff as report_diff

    check_destination(output)
    changes = report_diff.diff_reports(
        report_diff.load_report(Path(old_report)), report_diff.load_report(Path(new_report))
    )
    text = (
        report_diff.render_json(changes)
        if output_format == "json"
        else report_diff.render_text(changes)
    )
    written = write_output(text, output)
    if written is not None:
        say(f"wrote {written}")
    raise SystemExit(EXIT_PROBLEMS if changes.worse else EXIT_OK)
