"""`cleanup`: delete the test resources an interrupted --allow-writes run left behind."""

from __future__ import annotations

import sys
from typing import Any

import click

from scim_doctor.cli.options import cleanup_connection_options, stops_like_ctrl_c
from scim_doctor.cli.settings import (
    build_options,
    check_connection,
    check_proxy,
    client_cert_from,
)
from scim_doctor.core.defaults import DEFAULT_EXPIRY_WARN_DAYS, DEFAULT_TIMEOUT
from scim_doctor.core.json_text import indented


@click.command()
@click.argument("base_url")
@cleanup_connection_options
@click.option("--dry-run", is_flag=True, help="List the leftovers, delete nothing.")
@click.option(
    "--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="Seconds per step."
)
@click.option(
    "--deadline",
    type=float,
    default=None,
    help="Seconds for the whole clean-up [default: 60, or 6 x --timeout].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to list what was found and deleted.",
)
@stops_like_ctrl_c
def cleanup(
    base_url: str,
    token_env: str | None,
    token_file: str | None,
    token_stdin: bool,
    cacert: str | None,
    insecure: bool,
    resolve_specs: tuple[str, ...],
    proxy: str | None,
    noproxy: str | None,
    proxy_pac: str | None,
    trust_store: str,
    dry_run: bool,
    timeout: float,
    deadline: float | None,
    output_format: str,
    **client: Any,
) -> None:
    """Find and delete test resources an interrupted --allow-writes run left behind.

    BASE_URL is the one the run checked (e.g. https://example.com/scim/v2). Only names
    scim-doctor itself makes (scim-doctor-<8 hex digits>) are deleted; lookalikes are listed,
    never touched. Exit 0 when nothing is left, 1 otherwise.
    """
    from pathlib import Path

    from scim_doctor.core.credentials import read_token
    from scim_doctor.core.output import emit
    from scim_doctor.lifecycle import cleanup as leftovers
    from scim_doctor.net.target import parse_base_url, parse_resolve
    from scim_doctor.net.trust import load_trust

    target = parse_base_url(base_url)
    check_connection(proxy, noproxy, proxy_pac, cacert, trust_store)
    token = read_token(
        token_env=token_env,
        token_file=Path(token_file) if token_file is not None else None,
        token_stdin=token_stdin,
        stdin=sys.stdin.buffer if token_stdin else None,
    )
    options = build_options(
        timeout=timeout,
        deadline=deadline,
        expiry_warn_days=DEFAULT_EXPIRY_WARN_DAYS,
        only=(),
        skip=(),
        cacert=Path(cacert) if cacert is not None else None,
        insecure=insecure,
        resolve=tuple(parse_resolve(spec) for spec in resolve_specs),
        proxy=check_proxy(proxy) if proxy is not None else None,
        noproxy=noproxy,
        proxy_pac=proxy_pac,
        trust_store=trust_store,
        allow_writes=not dry_run,
        client_cert=client_cert_from(client),
    )
    trust = load_trust(options.cacert, options.trust_store, options.client_cert)
    result = leftovers.run(target, options, token, trust, dry_run=dry_run)
    if output_format == "json":
        emit(indented(result.to_json()) + "\n")
    else:
        emit(result.render_text())
    raise SystemExit(result.exit_code)
