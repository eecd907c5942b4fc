"""`check`: one BASE_URL, or every target of a scim-doctor.toml (--config), once or --repeat.

The single-target run is the common case and stays the straight path; --config, --repeat,
--quiet and GitHub Actions hand over to the fleet machinery (scim_doctor.cli.fleet_output).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from scim_doctor.cli.delivery import (
    ReportOptions,
    deliver,
    github_actions,
    run_target,
    use_color,
    write_bundle,
)
from scim_doctor.cli.options import (
    FLEET_OPTIONS,
    connection_options,
    fleet_options,
    run_options,
    stops_like_ctrl_c,
)
from scim_doctor.cli.settings import (
    body_size,
    check_connection,
    check_ids,
    check_proxy,
    client_cert_from,
    idp_key,
    listed_ids,
    options_from,
    positive_seconds,
    report_options,
)
from scim_doctor.core.errors import InputError

if TYPE_CHECKING:
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import ResolvePin, Target


@click.command()
@click.argument("base_url", required=False)
@connection_options
@fleet_options
@run_options
@stops_like_ctrl_c
def check(
    base_url: str | None,
    token_env: str | None,
    token_file: str | None,
    token_stdin: bool,
    no_token: bool,
    cacert: str | None,
    insecure: bool,
    resolve_specs: tuple[str, ...],
    proxy: str | None,
    noproxy: str | None,
    proxy_pac: str | None,
    trust_store: str,
    http_port: int,
    **run: Any,
) -> None:
    """Check the SCIM endpoint at BASE_URL (e.g. https://example.com/scim/v2).

    The token is read from SCIM_TOKEN (or --token-env / --token-file / --token-stdin), never
    from the command line. With --config FILE instead of BASE_URL, every target of a
    scim-doctor.toml is checked (see docs/ci/).
    """
    from pathlib import Path

    from scim_doctor.net.target import parse_base_url, parse_resolve

    many = {name: run.pop(name) for name in FLEET_OPTIONS}
    if base_url is None or many["config_path"] is not None:
        target_options = {
            "--token-env": token_env,
            "--token-file": token_file,
            "--token-stdin": token_stdin,
            "--no-token": no_token,
            "--cacert": cacert,
            "--cert": client_cert_from(run),
            "--resolve": resolve_specs,
            "--proxy": proxy,
            "--noproxy": noproxy,
            "--proxy-pac": proxy_pac,
            "--trust": _given("trust_store"),
            "--http-port": _given("http_port"),
        }
        _check_config(base_url, insecure, many, target_options, run)
    _refuse_fleet_options(many)
    target = parse_base_url(base_url)
    token = _token(no_token, token_env, token_file, token_stdin)
    pins = [parse_resolve(spec) for spec in resolve_specs]
    _head_start(target, pins, proxy or proxy_pac, run)
    # What follows imports cryptography, httpx and the checks: the head start runs meanwhile.
    client_cert = client_cert_from(run)
    from scim_doctor.net.trust import load_in_background

    load_in_background(Path(cacert) if cacert is not None else None, trust_store, client_cert)
    if proxy is not None:
        proxy = check_proxy(proxy)
    check_connection(proxy, noproxy, proxy_pac, cacert, trust_store)
    options = options_from(
        run,
        cacert=Path(cacert) if cacert is not None else None,
        insecure=insecure,
        resolve=tuple(pins),
        proxy=proxy,
        noproxy=noproxy,
        proxy_pac=proxy_pac,
        trust_store=trust_store,
        http_port=http_port,
        client_cert=client_cert,
    )
    how = report_options(run)
    if many["repeat_count"] > 1 or many["quiet"] or github_actions():
        _check_one_more_ways(target, options, token, how, many, run["deadline"])
    from scim_doctor.net import head_start

    try:
        report = run_target(target, options, token)
    finally:
        head_start.discard()
    raise SystemExit(deliver(report, how))


_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def _head_start(
    target: Target, pins: list[ResolvePin], proxy_option: str | None, run: dict[str, Any]
) -> None:
    """Begin the name lookup and the first TCP connection now, before the run's modules
    import (net.head_start): only for a direct https target whose connect check runs (a
    proxy, set by option, PAC file or environment, decides the route later: nothing then)."""
    import os

    from scim_doctor.net import head_start
    from scim_doctor.net.target import pins_for

    if not target.is_https or proxy_option or any(os.environ.get(v) for v in _PROXY_VARIABLES):
        return
    only, skip = (frozenset(listed_ids(run[name])) for name in ("only", "skip"))
    if "connect" in skip or (only and "connect" not in only):
        return
    timeout = run["timeout"]
    if not timeout or timeout <= 0:
        return  # refused with its reason when the options are read
    warming = head_start.WARMING - skip if not only else head_start.WARMING & only
    spares = head_start.SPARES if warming else 0  # --only dns,connect,tls: no HTTP request
    # Addresses known without a lookup: the --resolve pins, or the host when it is an address.
    known = pins_for(tuple(pins), target.host, target.port) or (
        [target.host] if target.host_is_ip else []
    )
    head_start.begin(target.host, target.port, known, timeout, spares)


def _refuse_fleet_options(many: dict[str, Any]) -> None:
    """One BASE_URL: the options that only make sense with --config or --repeat are refused."""
    if many.get("shard") is not None:
        raise InputError("--shard needs --config FILE")
    for flag, key in (("--target", "target_names"), ("--tag", "target_tags")):
        if many[key]:
            raise InputError(f"{flag} needs --config FILE")
    if many["concurrency"] is not None:
        raise InputError("--concurrency needs --config FILE")
    if many["interval"] is not None and many["repeat_count"] == 1:
        raise InputError("--interval needs --repeat N")


def _token(
    no_token: bool, token_env: str | None, token_file: str | None, token_stdin: bool
) -> Secret | None:
    """The token from the one source asked for (SCIM_TOKEN by default), or none with --no-token."""
    if no_token:
        if token_env or token_file or token_stdin:
            raise InputError("--no-token cannot be combined with a token source")
        return None
    from pathlib import Path

    from scim_doctor.core.credentials import read_token

    return read_token(
        token_env=token_env,
        token_file=Path(token_file) if token_file is not None else None,
        token_stdin=token_stdin,
        stdin=sys.stdin.buffer if token_stdin else None,
    )


def _given(name: str) -> bool:
    """Whether an option was set on the command line (not left at its default)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _check_one_more_ways(
    target: Target,
    options: Options,
    token: Secret | None,
    how: ReportOptions,
    many: dict[str, Any],
    budget: float | None,
) -> NoReturn:
    """One BASE_URL with --repeat, --quiet or under GitHub Actions: the fleet machinery."""
    from scim_doctor.cli import fleet_output
    from scim_doctor.core import fleet as fleet_report
    from scim_doctor.net.trust import load_trust
    from scim_doctor.runs import fleet

    if how.bundle is not None and many["repeat_count"] > 1:
        raise InputError("--bundle writes the report of one run: use it without --repeat")
    outputs = ((how.output_format, how.output), *how.extra)
    common = {"verbose": how.verbose, "quiet": many["quiet"], "color": use_color()}
    if many["repeat_count"] > 1:
        spec = fleet.FleetTarget(
            name=target.host,
            target=target,
            options=options,
            token=token,
            trust=load_trust(options.cacert, options.trust_store, options.client_cert),
            fail_on=how.fail_on,
        )
        interval = many["interval"] if many["interval"] is not None else 1.0
        raise SystemExit(
            fleet_output.check_many(
                [spec],
                outputs,
                concurrency=1,
                repeat_count=many["repeat_count"],
                interval_s=interval,
                budget_s=budget,
                github=github_actions(),
                **common,
            )
        )
    report = run_target(target, options, token, quiet=many["quiet"])
    single = fleet_report.single(report, target.host, how.fail_on)
    code = fleet_output.deliver(single, outputs, single_v1=True, github=github_actions(), **common)
    write_bundle(report, how)
    raise SystemExit(code)


def _check_config(
    base_url: str | None,
    insecure: bool,
    many: dict[str, Any],
    target_options: dict[str, Any],
    run: dict[str, Any],
) -> NoReturn:
    """`check --config FILE`: options given here override the file's for every target."""
    from pathlib import Path

    import msgspec.structs

    from scim_doctor.cli import fleet_output
    from scim_doctor.runs import fleet
    from scim_doctor.runs.config import load_config

    if base_url is not None:
        raise InputError("give either BASE_URL or --config FILE, not both")
    if many["config_path"] is None:
        raise InputError("missing BASE_URL (e.g. https://example.com/scim/v2) or --config FILE")
    for flag, value in target_options.items():
        if value:
            raise InputError(f"{flag} cannot be combined with --config: set it in the file")
    if many["interval"] is not None and many["repeat_count"] == 1:
        raise InputError("--interval needs --repeat N")
    how = report_options(run)
    overrides: dict[str, Any] = {}
    if _given("timeout"):
        overrides["timeout"] = positive_seconds("--timeout", run["timeout"])
    if run["deadline"] is not None:
        overrides["deadline"] = positive_seconds("--deadline", run["deadline"], upper=86400.0)
    if _given("expiry_warn_days"):
        overrides["expiry_warn_days"] = run["expiry_warn_days"]
    if run["only"]:
        overrides["only"] = check_ids(run["only"], "--only")
    if run["skip"]:
        overrides["skip"] = check_ids(run["skip"], "--skip")
    if _given("fail_on"):
        overrides["fail_on"] = how.fail_on
    if insecure:
        overrides["insecure"] = True
    for flag in ("deep", "strict", "show_pii", "allow_writes"):
        if run[flag]:
            overrides[flag] = True
    if run["idp"]:
        overrides["idp"] = idp_key(run["idp"])
    if _given("reach"):
        overrides["reach"] = run["reach"]
    if _given("max_body"):
        overrides["max_body"] = body_size(run["max_body"])
    if how.bundle is not None:
        raise InputError("--bundle writes the report of one target: use it without --config")
    config = load_config(Path(many["config_path"]))
    selected = config.select(many["target_names"], many["target_tags"])
    shard = None
    if many["shard"] is not None:
        from scim_doctor.core.shard import parse_shard

        shard = parse_shard(many["shard"])
        selected = shard.select(selected)
        if not selected:
            from scim_doctor.core.output import say

            say(f"shard {shard} of {config.path} holds no target: nothing to check")
    specs = fleet.prepare([msgspec.structs.replace(t, **overrides) for t in selected])
    raise SystemExit(
        fleet_output.check_many(
            specs,
            ((how.output_format, how.output), *how.extra),
            concurrency=many["concurrency"] or config.concurrency,
            repeat_count=many["repeat_count"],
            interval_s=many["interval"] if many["interval"] is not None else 1.0,
            budget_s=run["deadline"],
            verbose=how.verbose,
            quiet=many["quiet"],
            color=use_color(),
            github=github_actions(),
            shard=str(shard) if shard is not None else None,
        )
    )
