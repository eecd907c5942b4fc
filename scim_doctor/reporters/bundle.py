"""The support bundle: one zip a user can attach to a ticket, safe to send as it is.

It holds the report in every format a support engineer may want (HTML to read, JSON to diff or
script, text as the user saw it with the HTTP exchanges, Markdown to paste) and a README saying
how it was made. Everything in it passes through `secrets.redact()`, and personal data is masked
unless the caller explicitly asks for it, so attaching the bundle never leaks the token and by
default not the users the server returned either. The zip is written to a temporary sibling and
renamed, so a half-written bundle is never left behind.
"""

from __future__ import annotations

import datetime as dt
import importlib
import shlex
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from scim_doctor.core.files import atomic_file, check_writable
from scim_doctor.core.model import Report
from scim_doctor.core.pii import mask_report, mask_text
from scim_doctor.core.secrets import redact
from scim_doctor.reporters import curl as curl_reporter
from scim_doctor.reporters import har as har_reporter
from scim_doctor.reporters import json as json_reporter
from scim_doctor.reporters import markdown as markdown_reporter
from scim_doctor.reporters import text as text_reporter

HTML_MODULE = "scim_doctor.reporters.html"


def command_line(argv: Sequence[str]) -> str:
    """The command as the user typed it, quoted for a shell and redacted.

    The token never is on the command line (it comes from an environment variable, a file or
    standard input), so this shows where it came from without showing it.
    """
    words = ["scim-doctor", *argv[1:]] if argv else ["scim-doctor"]
    return redact(shlex.join(words))


def _html_renderer() -> Callable[[Report], str] | None:
    try:
        module = importlib.import_module(HTML_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name in (HTML_MODULE, "jinja2"):
            return None
        raise
    render: Callable[[Report], str] = module.render
    return render


def _readme(
    report: Report, *, command: str, created_at: str, show_pii: bool, files: Sequence[str]
) -> str:
    privacy = (
        "Personal data is NOT masked in this bundle (--show-pii was given): user names, "
        "e-mail addresses, names, phone numbers and addresses appear as the server sent them."
        if show_pii
        else "Personal data is masked: user names, e-mail addresses, names, phone numbers and "
        "addresses that the server returned keep their shape but not their content "
        "(a***@e***.com, A*** L***, +1 *** *** **67)."
    )
    lines = [
        "scim-doctor support bundle",
        "",
        f"Made by:   scim-doctor {report.tool_version}",
        f"Made at:   {created_at}",
        f"Run at:    {report.started_at}",
        f"Command:   {command}",
        f"Target:    {report.target.base_url}",
        f"Verdict:   {report.status.value} - {text_reporter.verdict(report)}",
        "",
        "Redaction: the token is never included. Authorization, Cookie and similar headers, "
        "tokens in URLs and the token's own value are replaced by [REDACTED] in every file.",
        privacy,
        "",
        "Files:",
        "  report.json  the JSON report (schema: docs/report-schema-v1.json); compare two with "
        "`scim-doctor diff OLD NEW`",
        "  report.txt   the terminal report with the HTTP exchanges (as with -v)",
        "  report.md    the Markdown report, to paste into a ticket",
        "  transcript.har every request and response as an HTTP Archive (HAR 1.2): open it in "
        "a browser's developer tools (Network tab, import) or any HAR viewer",
        "  reproduce.sh the curl command of every exchange of a failing or warning check, to "
        "replay it from the same machine (set SCIM_TOKEN first)",
    ]
    if "report.html" in files:
        lines.append("  report.html  the HTML report, to open in a browser")
    else:
        lines.append(
            "  (no report.html: the HTML report is not available in this installation of "
            "scim-doctor)"
        )
    return "\n".join(lines) + "\n"


def reproduce_script(report: Report) -> str:
    """reproduce.sh: every failing or warning exchange as a curl command, so a support engineer
    can watch the server answer again without scim-doctor. The token is in none of them: the
    one place to give it is SCIM_TOKEN, set before the commands run."""
    lines = [
        "#!/bin/sh",
        f"# Replays the HTTP exchanges of the failing and warning checks of the scim-doctor run "
        f"of {report.started_at} against {report.target.base_url}, with curl.",
        "# The token is not in this file. Set it here, the one place it goes, or in the shell:",
        "#   export SCIM_TOKEN=...",
        ': "${SCIM_TOKEN:?set SCIM_TOKEN to the SCIM bearer token first}"',
    ]
    found = False
    for check, exchange, command in curl_reporter.commands(report):
        status = exchange.status if exchange.status is not None else "no response"
        lines += ["", f"# {check.id} ({check.status.value}): {exchange.method} answered {status}"]
        lines.append(command)
        found = True
    if not found:
        lines += ["", "# No check failed or warned with an HTTP exchange: nothing to replay."]
    return "\n".join(lines) + "\n"


def write_bundle(
    report: Report,
    path: Path,
    *,
    command: str,
    show_pii: bool = False,
    now: dt.datetime | None = None,
) -> Path:
    """Write the support bundle zip for `report` to `path` atomically; return the path.

    `command` is the command line to record (see `command_line`); `show_pii=True` keeps
    personal data unmasked (the token is redacted regardless).
    """
    path = Path(path)
    check_writable(path, f"bundle {path}")
    shown = report if show_pii else mask_report(report)
    moment = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    members: dict[str, str] = {
        "report.json": json_reporter.render(shown),
        "report.txt": text_reporter.render(shown, verbose=True),
        "report.md": markdown_reporter.render(shown),
        "reproduce.sh": reproduce_script(shown),
        "transcript.har": har_reporter.render(shown),
    }
    render_html = _html_renderer()
    if render_html is not None:
        members["report.html"] = render_html(shown)
    readme = _readme(
        shown,
        command=command if show_pii else mask_text(command),
        created_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        show_pii=show_pii,
        files=list(members),
    )
    members = {"README.txt": readme, **members}
    stamp = moment.timetuple()[:6]
    with (
        atomic_file(path, f"bundle {path}") as handle,
        zipfile.ZipFile(handle, "w") as archive,
    ):
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            data = redact(content).encode("utf-8", "backslashreplace")
            archive.writestr(info, data)
    return path
