"""The exporter's front page (`GET /`): every configured target with its last verdict, when it
ran, its root cause and links to its last HTML report and to its metrics.

An alert names a target; an on-call engineer opens this page and is one click from the cause,
as blackbox_exporter's recent-probes page is one click from a probe's log. Plain HTML with no
script, everything escaped; the server sends it with a Content-Security-Policy that forbids
anything but inline style.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Sequence

from scim_doctor import __version__
from scim_doctor.core.model import Severity
from scim_doctor.core.secrets import redact
from scim_doctor.runs.config import TargetConfig
from scim_doctor.runs.probe_cache import Probed

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem; color: #1b1f24; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .7rem; border-bottom: 1px solid #d0d7de; }
.pass { color: #1a7f37; } .warn { color: #9a6700; } .fail, .error { color: #cf222e; }
.none { color: #6e7781; } code { font-size: 90%; }
td:nth-child(4), td:nth-child(6) { white-space: nowrap; }
@media (prefers-color-scheme: dark) {
  body { background: #0d1117; color: #e6edf3; } th, td { border-color: #30363d; }
  a { color: #58a6ff; }
}
"""


def _query(name: str) -> str:
    return urllib.parse.urlencode({"target": name})


def _row(target: TargetConfig, probed: Probed | None) -> str:
    name = html.escape(target.name)
    url = html.escape(redact(target.target.base_url))
    probe_link = f'<a href="/probe?{html.escape(_query(target.name))}">metrics</a>'
    if probed is None:
        cells = '<td class="none">not probed yet</td><td class="none">-</td><td>-</td>'
        return (
            f'<tr class="target" data-target="{name}"><td>{name}</td><td><code>{url}</code></td>'
            f"{cells}<td>{probe_link}</td></tr>"
        )
    outcome = probed.outcome
    status = html.escape(outcome.status)
    cause = "-"
    if outcome.report is not None:
        found = outcome.report.root_cause(at_least=Severity.WARN)
        if found is not None:
            cause = f"<code>{html.escape(found[1].code)}</code> in {html.escape(found[0])}"
    elif outcome.error:
        cause = html.escape(outcome.error)
    report_link = (
        f'<a class="report" href="/report?{html.escape(_query(target.name))}">report</a> · '
        if outcome.report is not None
        else ""
    )
    return (
        f'<tr class="target" data-target="{name}"><td>{name}</td><td><code>{url}</code></td>'
        f'<td class="{status} verdict">{status}</td><td>{html.escape(probed.finished_at)}</td>'
        f"<td>{cause}</td><td>{report_link}{probe_link}</td></tr>"
    )


def render(
    targets: Sequence[tuple[TargetConfig, Probed | None]], config_path: str, min_interval: float
) -> str:
    """The whole page; deterministic given the targets and their last runs."""
    rows = "\n".join(_row(target, probed) for target, probed in targets)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>scim-doctor exporter</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>scim-doctor exporter</h1>
<p>{len(targets)} targets from <code>{html.escape(config_path)}</code>; a result younger than
{min_interval:g} s is served again. Metrics: <code>/probe?target=NAME</code> for a target,
<a href="/metrics">/metrics</a> for the exporter.</p>
<table>
<thead><tr><th>target</th><th>base URL</th><th>last verdict</th><th>finished (UTC)</th>
<th>root cause</th><th>links</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p class="none">scim-doctor {html.escape(__version__)}</p>
</body>
</html>
"""
