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
    import json
    from pathlib import Path

    from scim_doctor.cli import fleet_output
    from scim_doctor.core.echo import shown
    from scim_doctor.core.errors import InputError
    from scim_doctor.core.merge import merge as join
    from scim_doctor.core.output import check_destination
    from scim_doctor.core.report_load import FLEET_VERSIONS, fleet_from_dict

    outputs = [(output_format, output)]
    for spec in extra_reports:
        kind, sep, destination = spec.partition("=")
        if not sep or kind not in FORMATS or not destination:
            raise InputError(
                f"--report {shown(spec, quote=True)}: expected FORMAT=PATH with FORMAT one of "
                f"{', '.join(FORMATS)}"
            )
        outputs.append((kind, destination))
    for _, destination in outputs:
        check_destination(destination)
    loaded = []
    for name in reports:
        where = shown(name, path=True)
        try:
            document = json.loads(Path(name).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"{where}: cannot read it ({exc.strerror})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{where}: not a JSON report ({exc})") from None
        version = document.get("schema_version") if isinstance(document, dict) else None
        if version not in FLEET_VERSIONS:
            raise InputError(
                f"{where}: schema version {version!r} is not a fleet report (merge joins "
                f"{', '.join(sorted(FLEET_VERSIONS))}: check --config FILE --format json)"
            )
        loaded.append((name, str(version), document))
    join_same_versions = [(n, v, fleet_from_dict(d, shown(n, path=True))) for n, v, d in loaded]
    fleet = join(join_same_versions)
    raise SystemExit(fleet_output.deliver(fleet, outputs))
