"""`merge`: the JSON reports of the shards of one fleet (`check --config --shard K/N --format
json`) joined into one report, in any fleet format, with the exit code the whole fleet gives."""

from __future__ import annotations

import click

FORMATS = ("text", "json", "junit", "markdown", "har")


@click.command()
@click.argument("reports", nargs=-1, required=True, metavar="REPORT.json...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Format of the merged report.",
)
@click.option("--output", "-o", default="-", metavar="PATH", help="Where to write ('-' = stdout).")
@click.option(
    "--report",
    "extra_reports",
    multiple=True,
    metavar="FORMAT=PATH",
    help=f"Also write the merged report in FORMAT ({', '.join(FORMATS)}) to PATH; repeatable.",
)
def merge(
    reports: tuple[str, ...], output_format: str, output: str, extra_reports: tuple[str, ...]
) -> None:
    """Join the JSON reports of a fleet's shards into one report; exit as the whole fleet would.

    Each REPORT.json... file is written by `check --config FILE --format json` (a --shard K/N of
    it, in a CI matrix); reports of different schema versions, or naming one target twice, are
    refused.
    """
    from scim_doctor.cli import fleet_output
    from scim_doctor.cli.settings import report_spec
    from scim_doctor.core.merge import merge as join
    from scim_doctor.core.output import check_destination
    from scim_doctor.core.report_load import fleet_from_dict, fleet_version, read_document

    check_destination(output)
    outputs = [(output_format, output), *(report_spec(s, FORMATS) for s in extra_reports)]
    documents = [(name, *read_document(name)) for name in reports]
    versions = [fleet_version(document, where) for _, where, document in documents]
    fleet = join(
        [
            (name, version, fleet_from_dict(document, where))
            for (name, where, document), version in zip(documents, versions, strict=True)
        ]
    )
    raise SystemExit(fleet_output.deliver(fleet, outputs))
