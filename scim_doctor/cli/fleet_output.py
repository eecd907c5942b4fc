"""`check --config` / `--repeat` after the options are parsed: run the targets, write every
report and the CI output, and give the exit code. The runs hand their report here; only the
command line decides where it goes."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from scim_doctor.core.fleet import FleetReport
from scim_doctor.runs.fleet import FleetTarget, Progress, run_fleet


def _render(
    fleet: FleetReport,
    output_format: str,
    *,
    single_v1: bool,
    color: bool,
    verbose: bool,
    width: int,
) -> str | Iterator[str]:
    from scim_doctor.reporters import fleet as fleet_reporter

    only = fleet.targets[0].report if len(fleet.targets) == 1 else None
    if only is not None and (
        single_v1 or output_format == "text" or output_format not in fleet_reporter.FORMATS
    ):
        # One target keeps the single-target formats: JSON version 1, HTML, ...
        if output_format == "text":
            return fleet_reporter.target_text(
                fleet.targets[0], color=color, verbose=verbose, width=width
            )
        from scim_doctor.reporters import renderer

        try:
            return renderer(output_format)(only)
        except ModuleNotFoundError:
            from scim_doctor.core.errors import InputError

            raise InputError(
                f"the {output_format} format is not available in this version"
            ) from None
    return fleet_reporter.render(fleet, output_format, color=color, verbose=verbose, width=width)


def deliver(
    fleet: FleetReport,
    outputs: Sequence[tuple[str, str]],
    *,
    verbose: bool = False,
    quiet: bool = False,
    color: bool = False,
    single_v1: bool = False,
    github: bool = False,
) -> int:
    """Write every (format, destination) report, the CI output, and return the exit code.

    `quiet` prints only the problems where the text report would go to stdout, and no "wrote"
    lines. With `github`, annotations go to stdout, or to stderr (which the runner reads too)
    when stdout carries a machine-readable report that they would corrupt.
    """
    from scim_doctor.cli.delivery import text_width
    from scim_doctor.core.output import emit, say, write_output
    from scim_doctor.reporters import fleet as fleet_reporter

    for output_format, destination in outputs:
        to_stdout = destination == "-"
        if quiet and to_stdout and output_format == "text":
            # Names only where they tell targets apart: not for one BASE_URL.
            named = len(fleet.targets) > 1 or any(t.source for t in fleet.targets)
            emit(fleet_reporter.render_problems(fleet, with_names=named))
            continue
        text = _render(
            fleet,
            output_format,
            single_v1=single_v1,
            color=color and to_stdout,
            verbose=verbose,
            width=text_width(destination),
        )
        written = write_output(text, destination)
        if written is not None and not quiet:
            say(f"wrote {written}")
    if github:
        from scim_doctor.reporters import github as ci_github

        machine_on_stdout = any(d == "-" and f != "text" for f, d in outputs)
        ci_github.write(fleet, sys.stderr if machine_on_stdout else sys.stdout)
    if outputs and outputs[0][0] == "nagios" and len(fleet.targets) == 1:
        from scim_doctor.cli.delivery import nagios_exit_code

        return nagios_exit_code(fleet.targets[0].report)
    return fleet.exit_code


def check_many(
    specs: Sequence[FleetTarget],
    outputs: Sequence[tuple[str, str]],
    *,
    concurrency: int,
    repeat_count: int = 1,
    interval_s: float = 1.0,
    budget_s: float | None = None,
    verbose: bool = False,
    quiet: bool = False,
    color: bool = False,
    github: bool = False,
    shard: str | None = None,
) -> int:
    """The `check --config` / `--repeat` command after its options are parsed: run, write, exit.

    `shard` ("K/N") is recorded in the report's environment, so `merge` can tell the shards of
    one fleet apart."""
    from scim_doctor.cli import collector
    from scim_doctor.core.errors import InputError
    from scim_doctor.reporters import fleet as fleet_reporter

    collector.resume()
    if len(specs) != 1:
        for output_format, _ in outputs:
            if output_format not in fleet_reporter.FORMATS:
                raise InputError(
                    f"the {output_format} format shows one target and {len(specs)} are selected: "
                    f"choose one with --target NAME, or use {', '.join(fleet_reporter.FORMATS)}"
                )
    if repeat_count > 1:
        if outputs and outputs[0][0] == "nagios":
            raise InputError("--format nagios checks once per call: use it without --repeat")
        if len(specs) != 1:
            raise InputError(
                f"--repeat checks one target and {len(specs)} are selected: choose one with "
                "--target NAME"
            )
        from scim_doctor.runs.repeat import run_series

        report = run_series(specs[0], repeat_count, interval_s, budget_s)
    else:
        progress = Progress(len(specs))
        progress.enabled = progress.enabled and not quiet
        try:
            report = run_fleet(specs, concurrency, progress)
        finally:
            progress.close()
        if shard is not None:
            report.environment["shard"] = shard
    return deliver(report, outputs, verbose=verbose, quiet=quiet, color=color, github=github)
