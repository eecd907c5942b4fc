"""`demo`: the built-in SCIM server on 127.0.0.1, checked as `check` would, then stopped.

The one command that imports scim_doctor.demo (only cli may), and only when it runs.
"""

from __future__ import annotations

from typing import Any

import click

from scim_doctor.cli.delivery import deliver, run_target
from scim_doctor.cli.options import run_options, stops_like_ctrl_c
from scim_doctor.cli.settings import options_from, report_options
from scim_doctor.core.errors import InputError


@click.command()
@click.option("--fault", default=None, metavar="NAME", help="Inject one named fault.")
@click.option("--list-faults", is_flag=True, help="List the faults the demo server can inject.")
@run_options
@stops_like_ctrl_c
def demo(fault: str | None, list_faults: bool, **run: Any) -> None:
    """Start the built-in SCIM server on 127.0.0.1, check it, print the report, stop it."""
    import secrets as random_source
    import tempfile
    from pathlib import Path

    from scim_doctor.core.echo import shown
    from scim_doctor.core.output import say
    from scim_doctor.core.secrets import Secret
    from scim_doctor.demo.faults import FAULTS
    from scim_doctor.demo.server import DemoServer
    from scim_doctor.net.target import parse_base_url, parse_resolve

    if list_faults:
        width = max(len(name) for name in FAULTS)
        for name, spec in FAULTS.items():
            click.echo(f"{name:<{width}}  {spec.summary}  -> {', '.join(spec.expect)}")
        return
    if fault is not None and fault not in FAULTS:
        raise InputError(
            f"--fault {shown(fault, quote=True)}: unknown (see scim-doctor demo --list-faults)"
        )
    chars = FAULTS[fault].token_chars if fault is not None else None
    # A fault about a front end's header limit needs a token as long as real ones get.
    token = random_source.token_urlsafe(chars)[:chars] if chars else random_source.token_urlsafe(32)
    how = report_options(run)
    # The demo server is throwaway: a lifecycle fault shows nothing without writes.
    writes = run["allow_writes"] or (
        fault is not None and any(c.startswith("lifecycle.") for c in FAULTS[fault].expect)
    )
    with (
        tempfile.TemporaryDirectory(prefix="scim-doctor-demo-") as tmp,
        DemoServer(token, fault=fault, http_listener=True) as server,
    ):
        ca_path = server.write_ca(Path(tmp))
        options = options_from(
            run,
            allow_writes=writes,
            cacert=ca_path,
            resolve=(parse_resolve(server.resolve_pin),),
            http_port=server.http_port or 80,
        )
        say(
            f"demo: SCIM server on 127.0.0.1:{server.port}"
            + (f" with fault {fault!r}" if fault else "")
            + f"; checking {server.base_url} as `scim-doctor check` would, with "
            f"--cacert <demo CA> --resolve {server.resolve_pin} --http-port {server.http_port}"
            + (" --allow-writes" if writes else "")
        )
        report = run_target(parse_base_url(server.base_url), options, Secret(token))
    raise SystemExit(deliver(report, how))
