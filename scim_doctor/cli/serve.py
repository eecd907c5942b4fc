"""`serve`: a Prometheus exporter for the targets of a scim-doctor.toml (scim_doctor.serve).

Binds 127.0.0.1 unless told otherwise: /probe runs authenticated requests with the config's
tokens, so who may trigger them is a choice to make on purpose (`--listen 0.0.0.0:PORT`).
"""

from __future__ import annotations

import click

from scim_doctor.cli.options import stops_like_ctrl_c
from scim_doctor.core.errors import InputError

DEFAULT_LISTEN = "127.0.0.1:9849"


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT` (port 0: any free port, said on stderr)."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InputError(f"--listen {value!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default="scim-doctor.toml",
    show_default=True,
    metavar="FILE",
    help="The targets to serve, with their token sources (never from a request).",
)
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Where to listen; port 0 picks a free one.",
)
@click.option(
    "--min-interval",
    type=click.FloatRange(0, 86400),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Serve a target's last result again while it is younger than this.",
)
@click.option(
    "--scrape-margin",
    type=click.FloatRange(0, 60),
    default=0.5,
    show_default=True,
    metavar="SECONDS",
    help="Taken off the scraper's X-Prometheus-Scrape-Timeout-Seconds for the probe deadline.",
)
@click.option(
    "--allow-any-target",
    is_flag=True,
    help="Also probe a URL given as target=, always without a token (transport and "
    "unauthenticated checks only).",
)
@click.option(
    "--reach",
    type=click.Choice(["internet", "private"]),
    default="internet",
    show_default=True,
    help="With --allow-any-target: where the identity provider connects from, for URLs.",
)
@stops_like_ctrl_c
def serve(
    config_path: str,
    listen: str,
    min_interval: float,
    scrape_margin: float,
    allow_any_target: bool,
    reach: str,
) -> None:
    """Serve Prometheus metrics for the targets of a scim-doctor.toml: /probe?target=NAME,
    /metrics for the exporter itself, and / with each target's last verdict and report.

    Stops cleanly on Ctrl-C, SIGTERM or SIGHUP (exit 0)."""
    from pathlib import Path

    from scim_doctor.core.output import say
    from scim_doctor.runs.config import load_config
    from scim_doctor.serve.exporter import AdHoc, Exporter
    from scim_doctor.serve.http import ExporterServer

    host, port = parse_listen(listen)
    config = load_config(Path(config_path))
    exporter = Exporter(
        config,
        min_interval=min_interval,
        margin=scrape_margin,
        adhoc=AdHoc(allowed=allow_any_target, reach=reach),
    )
    try:
        server = ExporterServer(exporter, host, port)
    except OSError as exc:
        exporter.stop()
        raise InputError(f"--listen {listen}: cannot listen there ({exc.strerror})") from None
    say(
        f"scim-doctor serve: listening on {server.url} ({len(config.targets)} targets from "
        f"{config_path})"
    )
    try:
        server.serve()
    except KeyboardInterrupt:
        from scim_doctor.core.signals import received

        say(f"scim-doctor serve: stopped ({received() or 'interrupted'})")
    finally:
        server.stop()
