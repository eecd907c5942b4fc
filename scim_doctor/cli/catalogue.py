"""`explain` and `codes`: the finding catalogue (scim_doctor.core.findings) on the terminal.

No network and no report: both only read the catalogue, so they share a module.
"""

from __future__ import annotations

import click

from scim_doctor.core.errors import InputError
from scim_doctor.core.json_text import indented


@click.command()
@click.argument("code")
def explain(code: str) -> None:
    """Explain one finding code: what it means, why it matters, how to fix it.

    CODE is a finding code as a report shows it, e.g. tls.cert_expired (scim-doctor codes
    lists them all).
    """
    from scim_doctor.core.echo import shown
    from scim_doctor.core.findings import CATALOGUE

    spec = CATALOGUE.get(code)
    if spec is None:
        raise InputError(f"unknown finding code {shown(code, quote=True)} (see scim-doctor codes)")
    breaks = ", ".join(spec.providers) or "no provider rule names it"
    click.echo(
        f"{spec.code} ({spec.severity.value}): {spec.title}\n\n"
        f"Requirement level: {spec.level.value}\n"
        f"Breaks provisioning for: {breaks}\n\n"
        f"Why it matters: {spec.why}\n\n"
        f"How to fix: {spec.fix}\n\n"
        f"Reference ({spec.reference_kind.value}): {spec.reference}"
    )


@click.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per code; json: every field of every entry.",
)
def codes(output_format: str) -> None:
    """List every finding code scim-doctor can report."""
    from scim_doctor.core.findings import CATALOGUE

    if output_format == "json":
        rows = [
            {
                "code": s.code,
                "severity": s.severity.value,
                "title": s.title,
                "why": s.why,
                "fix": s.fix,
                "reference": s.reference,
                "reference_kind": s.reference_kind.value,
            }
            for s in CATALOGUE.values()
        ]
        click.echo(indented(rows))
        return
    width = max(len(code) for code in CATALOGUE)
    for spec in CATALOGUE.values():
        click.echo(f"{spec.code:<{width}}  {spec.severity.value:<4}  {spec.title}")
