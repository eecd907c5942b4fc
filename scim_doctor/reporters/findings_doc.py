"""Generates docs/findings.md from the catalogue, so the documentation cannot drift from the code.

`make docs` writes it; a test fails when the committed file is stale.
"""

from __future__ import annotations

import sys

from scim_doctor.core.findings import CATALOGUE, FindingSpec
from scim_doctor.core.model import Scope


def _family(spec: FindingSpec) -> str:
    return spec.code.split(".", 1)[0]


def _providers(spec: FindingSpec) -> str:
    """The affected providers, or why there are none: an empty list reads as an omission."""
    if spec.scope is Scope.THIS_MACHINE:
        return "none: on this machine's own path (the run fails; providers read not_judged_here)"
    return ", ".join(spec.providers) if spec.providers else "no provider rule names it"


def render() -> str:
    lines = [
        "# Finding catalogue",
        "",
        "Generated from `scim_doctor/core/findings.py` by `make docs`; do not edit by hand.",
        "Codes are a public interface: they are never renamed or reused. Severities: `fail` (the",
        "identity provider will not work), `warn` (it may break, or is insecure), `info`",
        "(worth knowing). References say whether the rule is an RFC requirement (`rfc`), an",
        "identity provider's documented requirement (`idp`) or operational advice (`advice`).",
        "Each entry also gives the requirement level of its rule (`must`: an RFC MUST or",
        "REQUIRED; `should`: an RFC SHOULD or a statement without a keyword; `idp`: an identity",
        "provider's documented requirement; `advice`: field advice) and the providers whose",
        "connection it breaks where the demo server raises it (the run decides: see the README's",
        '"Severity: one verdict"). `scim-doctor explain CODE` prints one entry.',
        "",
    ]
    family = None
    for spec in CATALOGUE.values():
        if _family(spec) != family:
            family = _family(spec)
            lines += [f"## {family}", ""]
        lines += [
            f"### `{spec.code}` — {spec.title}",
            "",
            f"- **Severity:** {spec.severity.value}",
            f"- **Requirement level:** {spec.level.value}",
            f"- **Breaks provisioning for:** {_providers(spec)}",
            f"- **Why it matters:** {spec.why}",
            f"- **How to fix:** {spec.fix}",
            f"- **Reference ({spec.reference_kind.value}):** {spec.reference}",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
