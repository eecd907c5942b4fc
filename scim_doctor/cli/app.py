"""Command line: options -> Target -> run -> reports -> exit code. Nothing else lives here.

Exit codes (a public interface): 0 nothing at or above --fail-on, 1 problems found, 2 usage
error (one line on stderr, never a traceback, never a value that looks like a token: see
scim_doctor.core.echo), 3 scim-doctor itself failed, 130 interrupted:
Ctrl-C, or SIGTERM / SIGHUP while `check`, `cleanup` or `demo` runs (scim_doctor.signals).

Start-up matters for a command people run often: only click and two import-free modules are
loaded at import time; everything else is imported where it is used.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar, cast

import click

from scim_doctor import __version__
from scim_doctor.core.defaults import DEFAULT_DEADLINE, DEFAULT_EXPIRY_WARN_DAYS, DEFAULT_TIMEOUT
from scim_doctor.core.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from scim_doctor.core.model import Report, Severity
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import ResolvePin, Target

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])

REPORT_FORMATS = ("text", "json", "html", "junit", "markdown")
"""Kept in step with scim_doctor.reporters.FORMATS (a test checks) without importing it."""


def _positive_seconds(name: str, value: float | None, upper: float = 3600.0) -> float | None:
    if value is None:
        return None
    if not 0 < value <= upper:
        raise InputError(f"{name} {value:g}: must be more than 0 and at most {upper:g} seconds")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}


def _size(text: str) -> int:
    """`--max-body`: bytes, or with a k / M / G suffix (binary multiples)."""
    from scim_doctor.core.echo import shown

    number = text.strip().rstrip("iI").lower()
    unit = number.lstrip("0123456789.")
    digits = number[: len(number) - len(unit)]
    try:
        size = int(float(digits) * _SIZE_UNITS[unit.strip()])
    except (ValueError, KeyError):
        raise InputError(
            f"--max-body {shown(text, quote=True)}: expected a size such as 65536, 512k or 10M"
        ) from None
    if not 1024 <= size <= 1024**3:
        raise InputError(f"--max-body {shown(text, quote=True)}: must be between 1k and 1G")
    return size


def _check_ids(values: Sequence[str], option: str) -> frozenset[str]:
    from scim_doctor.checks import CHECK_IDS
    from scim_doctor.core.echo import shown

    ids: set[str] = set()
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if item not in CHECK_IDS:
                known = ", ".join(CHECK_IDS)
                raise InputError(
                    f"{option} {shown(item, quote=True)}: unknown check (known: {known})"
                )
            ids.add(item)
    return frozenset(ids)


def run_options(func: F) -> F:
    """Options shared by `check` and `demo`: how to run and how to report."""
    decorators = [
        click.option(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            show_default=True,
            help="Seconds for each network step.",
        ),
        click.option(
            "--deadline",
            type=float,
            default=None,
            help=f"Seconds for the whole run [default: {DEFAULT_DEADLINE:g}, or 6 x --timeout].",
        ),
        click.option(
            "--max-body",
            default="10M",
            show_default=True,
            metavar="SIZE",
            help="Decoded bytes read from one response body (e.g. 512k, 10M); more is cut "
            "and reported.",
        ),
        click.option(
            "--expiry-warn-days",
            type=click.IntRange(0, 3650),
            default=DEFAULT_EXPIRY_WARN_DAYS,
            show_default=True,
            help="Warn when the certificate expires within this many days.",
        ),
        click.option("--only", "only", multiple=True, metavar="IDS", help="Run only these checks."),
        click.option("--skip", "skip", multiple=True, metavar="IDS", help="Skip these checks."),
        click.option(
            "--idp",
            default=None,
            metavar="NAME",
            help="Give the verdict of one identity provider only (entra, okta, onelogin, "
            "jumpcloud, google).",
        ),
        click.option(
            "--strict", is_flag=True, help="Report deviations the SCIM validators tolerate."
        ),
        click.option(
            "--deep",
            is_flag=True,
            help="Walk every page of /Users and validate every user (read-only).",
        ),
        click.option(
            "--show-pii",
            is_flag=True,
            help="Keep userNames, emails and names in the report (masked by default).",
        ),
        click.option(
            "--bundle",
            "bundle_path",
            default=None,
            metavar="PATH.zip",
            help="Also write a support bundle: HTML, JSON, text, Markdown and a README, redacted.",
        ),
        click.option(
            "--allow-writes",
            is_flag=True,
            help="Run the lifecycle check: create, change and delete test resources (cleaned up).",
        ),
        click.option(
            "--fail-on",
            type=click.Choice(["warn", "fail"]),
            default="fail",
            show_default=True,
            help="Lowest severity that makes the exit code 1.",
        ),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(REPORT_FORMATS),
            default="text",
            show_default=True,
            help="Report format.",
        ),
        click.option(
            "--report",
            "extra_reports",
            multiple=True,
            metavar="FORMAT=PATH",
            help=f"Also write a report in FORMAT ({', '.join(REPORT_FORMATS)}) to PATH; "
            "repeatable.",
        ),
        click.option(
            "--output",
            "-o",
            default="-",
            metavar="PATH",
            help="Where to write the report ('-' = stdout); files are written atomically.",
        ),
        click.option(
            "-v", "--verbose", is_flag=True, help="Add the redacted HTTP exchanges (text format)."
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


FLEET_OPTIONS = (
    "config_path",
    "target_names",
    "target_tags",
    "concurrency",
    "quiet",
    "repeat_count",
    "interval",
)


def fleet_options(func: F) -> F:
    """`check` options for many targets (--config), CI output (--quiet) and --repeat."""
    decorators = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            default=None,
            metavar="FILE",
            help="Check the [[targets]] of a scim-doctor.toml instead of BASE_URL.",
        ),
        click.option(
            "--target",
            "target_names",
            multiple=True,
            metavar="NAME",
            help="With --config: check this target; repeatable.",
        ),
        click.option(
            "--tag",
            "target_tags",
            multiple=True,
            metavar="TAG",
            help="With --config: check the targets with this tag; repeatable.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 1000),
            default=None,
            help="With --config: targets checked at once [default: 20, or the file's].",
        ),
        click.option(
            "--quiet", "-q", is_flag=True, help="Print only the problems, nothing when all is well."
        ),
        click.option(
            "--repeat",
            "repeat_count",
            type=click.IntRange(1, 10000),
            default=1,
            metavar="N",
            help="Run the checks N times; report how often each failed and the latencies.",
        ),
        click.option(
            "--interval",
            type=click.FloatRange(0, 86400),
            default=None,
            metavar="SECONDS",
            help="With --repeat: seconds between runs [default: 1].",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def connection_options(func: F) -> F:
    """Where the token comes from, what to trust, and how to reach the host (check, cleanup)."""
    decorators = [
        click.option(
            "--token-env",
            metavar="NAME",
            default=None,
            help="Read the token from this environment variable [default: SCIM_TOKEN].",
        ),
        click.option(
            "--token-file",
            type=click.Path(dir_okay=True),
            default=None,
            help="Read the token from this file (one trailing newline is ignored).",
        ),
        click.option("--token-stdin", is_flag=True, help="Read the token from standard input."),
        click.option(
            "--no-token",
            is_flag=True,
            help="Check without a token (authenticated checks are skipped).",
        ),
        click.option(
            "--cacert",
            type=click.Path(dir_okay=True),
            default=None,
            help="Trust only the CAs in this PEM file (replaces the default store, as in curl).",
        ),
        click.option(
            "--insecure",
            "-k",
            is_flag=True,
            help="Run later checks past a certificate failure; the TLS findings stay in the "
            "report.",
        ),
        click.option(
            "--resolve",
            "resolve_specs",
            multiple=True,
            metavar="HOST:PORT:ADDR",
            help="Connect to ADDR for HOST:PORT, keeping HOST for SNI, certificate and Host "
            "(as curl).",
        ),
        click.option(
            "--proxy", default=None, metavar="URL", help="HTTP(S) proxy [default: environment]."
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


class ReportOptions(NamedTuple):
    output_format: str
    output: str
    verbose: bool
    fail_on: Severity
    extra: tuple[tuple[str, str], ...] = ()
    """(format, path) of every --report."""
    bundle: str | None = None
    """--bundle PATH.zip."""
    show_pii: bool = False


def build_options(
    *,
    timeout: float,
    deadline: float | None,
    expiry_warn_days: int,
    only: Sequence[str],
    skip: Sequence[str],
    cacert: Path | None = None,
    insecure: bool = False,
    resolve: tuple[ResolvePin, ...] = (),
    proxy: str | None = None,
    http_port: int = 80,
    idp: str | None = None,
    strict: bool = False,
    deep: bool = False,
    allow_writes: bool = False,
    show_pii: bool = False,
    max_body: str = "10M",
) -> Options:
    from scim_doctor.net.context import Options

    timeout_s = _positive_seconds("--timeout", timeout)
    assert timeout_s is not None  # noqa: S101 - click gives a default
    deadline_s = _positive_seconds("--deadline", deadline, upper=86400.0)
    if deadline_s is None:
        deadline_s = max(DEFAULT_DEADLINE, 6 * timeout_s)
    only_ids = _check_ids(only, "--only") if only else None
    return Options(
        timeout=timeout_s,
        deadline=deadline_s,
        cacert=cacert,
        insecure=insecure,
        resolve=resolve,
        proxy=proxy,
        http_port=http_port,
        expiry_warn_days=expiry_warn_days,
        only=only_ids,
        skip=_check_ids(skip, "--skip"),
        idp=_idp_key(idp),
        strict=strict,
        deep=deep,
        allow_writes=allow_writes,
        show_pii=show_pii,
        max_body=_size(max_body),
    )


RUN_SETTINGS = (
    "timeout",
    "deadline",
    "expiry_warn_days",
    "only",
    "skip",
    "idp",
    "strict",
    "deep",
    "allow_writes",
    "show_pii",
    "max_body",
)
"""The `run_options` parameters that become Options; the others say how to report."""


def options_from(run: Mapping[str, Any], **connection: Any) -> Options:
    """Options from the shared `run_options` parameters (`check`, `demo`); `connection` gives
    where to connect and what to trust, and overrides any of them (`demo --fault` writes)."""
    return build_options(**{**{name: run[name] for name in RUN_SETTINGS}, **connection})


def stops_like_ctrl_c(command: F) -> F:
    """SIGTERM and SIGHUP end this command as Ctrl-C does, only while it runs: the lifecycle
    cleans up and says what it deleted, and the exit code is 130 (see scim_doctor.signals)."""

    @functools.wraps(command)
    def run_command(*args: Any, **kwargs: Any) -> Any:
        from scim_doctor.core.signals import stop_like_ctrl_c

        with stop_like_ctrl_c():
            return command(*args, **kwargs)

    return cast(F, run_command)


def _idp_key(name: str | None) -> str | None:
    if not name:
        return None
    from scim_doctor.scim.idp import resolve_idp_name

    try:
        return resolve_idp_name(name)
    except InputError as exc:
        raise InputError(f"--idp: {exc}") from None


def exit_code(report: Report, fail_on: Severity) -> int:
    from scim_doctor.core.model import Status

    if any(check.status is Status.ERROR for check in report.checks):
        return EXIT_INTERNAL
    return EXIT_PROBLEMS if report.problems(at_least=fail_on) else EXIT_OK


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def deliver(report: Report, how: ReportOptions) -> int:
    """Render, write, and turn the verdict into the exit code."""
    from scim_doctor.core.output import say, write_output

    for output_format, destination in ((how.output_format, how.output), *how.extra):
        written = write_output(
            render(report, output_format, how, color=destination == "-" and _use_color()),
            destination,
        )
        if written is not None:
            say(f"wrote {written}")
    _write_bundle(report, how)
    return exit_code(report, how.fail_on)


def _write_bundle(report: Report, how: ReportOptions) -> None:
    if how.bundle is None:
        return
    from pathlib import Path

    from scim_doctor.core.output import say
    from scim_doctor.reporters import bundle

    path = bundle.write_bundle(
        report, Path(how.bundle), command=bundle.command_line(sys.argv), show_pii=how.show_pii
    )
    say(f"wrote {path}")


def render(report: Report, output_format: str, how: ReportOptions, *, color: bool) -> str:
    if output_format == "text":
        from scim_doctor.reporters import text as text_reporter

        return text_reporter.render(report, color=color, verbose=how.verbose)
    if output_format == "junit":
        from scim_doctor.reporters import junit

        return junit.render_with(report, how.fail_on)
    from scim_doctor.reporters import renderer

    try:
        render_format = renderer(output_format)
    except ModuleNotFoundError:
        raise InputError(f"the {output_format} format is not available in this version") from None
    return render_format(report)


def _run(target: Target, options: Options, token: Secret | None) -> Report:
    from scim_doctor.net.trust import load_trust
    from scim_doctor.runs.runner import run

    trust = load_trust(options.cacert)
    return run(target, options, token, trust)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="scim-doctor")
def cli() -> None:
    """Diagnose why an identity provider cannot talk to a SCIM 2.0 endpoint, and how to fix it."""


@cli.command()
@click.argument("base_url", required=False)
@connection_options
@click.option(
    "--http-port",
    type=click.IntRange(1, 65535),
    default=80,
    show_default=True,
    help="Port of the host's plain-HTTP listener, probed for a safe redirect to HTTPS.",
)
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
            "--resolve": resolve_specs,
            "--proxy": proxy,
            "--http-port": _given("http_port"),
        }
        _check_config(base_url, insecure, many, target_options, run)
    for flag, key in (("--target", "target_names"), ("--tag", "target_tags")):
        if many[key]:
            raise InputError(f"{flag} needs --config FILE")
    if many["concurrency"] is not None:
        raise InputError("--concurrency needs --config FILE")
    if many["interval"] is not None and many["repeat_count"] == 1:
        raise InputError("--interval needs --repeat N")
    target = parse_base_url(base_url)
    token: Secret | None = None
    if no_token:
        if token_env or token_file or token_stdin:
            raise InputError("--no-token cannot be combined with a token source")
    else:
        from scim_doctor.core.credentials import read_token

        token = read_token(
            token_env=token_env,
            token_file=Path(token_file) if token_file is not None else None,
            token_stdin=token_stdin,
            stdin=sys.stdin.buffer if token_stdin else None,
        )
    if proxy is not None:
        proxy = _check_proxy(proxy)
    options = options_from(
        run,
        cacert=Path(cacert) if cacert is not None else None,
        insecure=insecure,
        resolve=tuple(parse_resolve(spec) for spec in resolve_specs),
        proxy=proxy,
        http_port=http_port,
    )
    how = _report_options(run)
    if many["repeat_count"] > 1 or many["quiet"] or _github_actions():
        _check_one_more_ways(target, options, token, how, many, run["deadline"])
    report = _run(target, options, token)
    raise SystemExit(deliver(report, how))


def _given(name: str) -> bool:
    """Whether an option was set on the command line (not left at its default)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


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
    common = {"verbose": how.verbose, "quiet": many["quiet"], "color": _use_color()}
    if many["repeat_count"] > 1:
        spec = fleet.FleetTarget(
            name=target.host,
            target=target,
            options=options,
            token=token,
            trust=load_trust(options.cacert),
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
                github=_github_actions(),
                **common,
            )
        )
    report = _run(target, options, token)
    single = fleet_report.single(report, target.host, how.fail_on)
    code = fleet_output.deliver(single, outputs, single_v1=True, github=_github_actions(), **common)
    _write_bundle(report, how)
    raise SystemExit(code)


def _check_config(
    base_url: str | None,
    insecure: bool,
    many: dict[str, Any],
    target_options: dict[str, Any],
    run: dict[str, Any],
) -> NoReturn:
    """`check --config FILE`: options given here override the file's for every target."""
    import dataclasses
    from pathlib import Path

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
    how = _report_options(run)
    overrides: dict[str, Any] = {}
    if _given("timeout"):
        overrides["timeout"] = _positive_seconds("--timeout", run["timeout"])
    if run["deadline"] is not None:
        overrides["deadline"] = _positive_seconds("--deadline", run["deadline"], upper=86400.0)
    if _given("expiry_warn_days"):
        overrides["expiry_warn_days"] = run["expiry_warn_days"]
    if run["only"]:
        overrides["only"] = _check_ids(run["only"], "--only")
    if run["skip"]:
        overrides["skip"] = _check_ids(run["skip"], "--skip")
    if _given("fail_on"):
        overrides["fail_on"] = how.fail_on
    if insecure:
        overrides["insecure"] = True
    for flag in ("deep", "strict", "show_pii", "allow_writes"):
        if run[flag]:
            overrides[flag] = True
    if run["idp"]:
        overrides["idp"] = _idp_key(run["idp"])
    if how.bundle is not None:
        raise InputError("--bundle writes the report of one target: use it without --config")
    config = load_config(Path(many["config_path"]))
    selected = config.select(many["target_names"], many["target_tags"])
    specs = fleet.prepare([dataclasses.replace(t, **overrides) for t in selected])
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
            color=_use_color(),
            github=_github_actions(),
        )
    )


def _check_proxy(proxy: str) -> str:
    import urllib.parse

    from scim_doctor.core.echo import shown
    from scim_doctor.core.secrets import redact

    where = f"--proxy {redact(shown(proxy))}"
    try:
        parts = urllib.parse.urlsplit(proxy)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise InputError(f"{where}: not a valid URL") from None
    if parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
        raise InputError(f"{where}: expected http://HOST:PORT")
    return proxy


def _report_options(run: dict[str, Any]) -> ReportOptions:
    from scim_doctor.core.echo import shown
    from scim_doctor.core.model import Severity
    from scim_doctor.core.output import check_destination

    check_destination(run["output"])
    extra: list[tuple[str, str]] = []
    for spec in run["extra_reports"]:
        output_format, sep, destination = spec.partition("=")
        if not sep or not destination or output_format not in REPORT_FORMATS:
            raise InputError(
                f"--report {shown(spec, quote=True)}: expected FORMAT=PATH with FORMAT one of "
                f"{', '.join(REPORT_FORMATS)}"
            )
        check_destination(destination)
        extra.append((output_format, destination))
    if run["bundle_path"] is not None:
        if not run["bundle_path"].endswith(".zip"):
            bundle = shown(run["bundle_path"], path=True)
            raise InputError(f"--bundle {bundle}: the bundle is a .zip file")
        check_destination(run["bundle_path"], "--bundle")
    destinations = [d for _, d in extra] + ([run["output"]] if run["output"] != "-" else [])
    if len(set(destinations)) != len(destinations):
        raise InputError("two reports would be written to the same file")
    return ReportOptions(
        output_format=run["output_format"],
        output=run["output"],
        verbose=run["verbose"],
        fail_on=Severity(run["fail_on"]),
        extra=tuple(extra),
        bundle=run["bundle_path"],
        show_pii=run["show_pii"],
    )


@cli.command()
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
    token = random_source.token_urlsafe(32)
    how = _report_options(run)
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
        report = _run(parse_base_url(server.base_url), options, Secret(token))
    raise SystemExit(deliver(report, how))


@cli.command()
@click.argument("base_url")
@connection_options
@click.option("--dry-run", is_flag=True, help="List the leftovers, delete nothing.")
@click.option(
    "--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="Seconds per step."
)
@click.option("--deadline", type=float, default=None, help="Seconds for the whole clean-up.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@stops_like_ctrl_c
def cleanup(
    base_url: str,
    token_env: str | None,
    token_file: str | None,
    token_stdin: bool,
    no_token: bool,
    cacert: str | None,
    insecure: bool,
    resolve_specs: tuple[str, ...],
    proxy: str | None,
    dry_run: bool,
    timeout: float,
    deadline: float | None,
    output_format: str,
) -> None:
    """Find and delete test resources an interrupted --allow-writes run left behind.

    Only names scim-doctor itself makes (scim-doctor-<8 hex digits>) are deleted; lookalikes
    are listed, never touched. Exit 0 when nothing is left, 1 otherwise.
    """
    from pathlib import Path

    from scim_doctor.core.credentials import read_token
    from scim_doctor.core.output import emit
    from scim_doctor.lifecycle import cleanup as leftovers
    from scim_doctor.net.target import parse_base_url, parse_resolve
    from scim_doctor.net.trust import load_trust

    target = parse_base_url(base_url)
    if no_token:
        raise InputError("cleanup deletes resources: it needs a token")
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
        proxy=_check_proxy(proxy) if proxy is not None else None,
        allow_writes=not dry_run,
    )
    result = leftovers.run(target, options, token, load_trust(options.cacert), dry_run=dry_run)
    if output_format == "json":
        import json

        emit(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        emit(result.render_text())
    raise SystemExit(result.exit_code)


@cli.command()
@click.argument("old_report")
@click.argument("new_report")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option("--output", "-o", default="-", metavar="PATH", help="Where to write ('-' = stdout).")
def diff(old_report: str, new_report: str, output_format: str, output: str) -> None:
    """What changed between two JSON reports; exit 1 when something got worse."""
    from pathlib import Path

    from scim_doctor.core.output import check_destination, say, write_output
    from scim_doctor.reporters import diff as report_diff

    check_destination(output)
    changes = report_diff.diff_reports(
        report_diff.load_report(Path(old_report)), report_diff.load_report(Path(new_report))
    )
    text = (
        report_diff.render_json(changes)
        if output_format == "json"
        else report_diff.render_text(changes)
    )
    written = write_output(text, output)
    if written is not None:
        say(f"wrote {written}")
    raise SystemExit(EXIT_PROBLEMS if changes.worse else EXIT_OK)


@cli.command()
@click.argument("code")
def explain(code: str) -> None:
    """Explain one finding code: what it means, why it matters, how to fix it."""
    from scim_doctor.core.echo import shown
    from scim_doctor.core.findings import CATALOGUE

    spec = CATALOGUE.get(code)
    if spec is None:
        raise InputError(f"unknown finding code {shown(code, quote=True)} (see scim-doctor codes)")
    click.echo(
        f"{spec.code} ({spec.severity.value}): {spec.title}\n\n"
        f"Why it matters: {spec.why}\n\n"
        f"How to fix: {spec.fix}\n\n"
        f"Reference ({spec.reference_kind.value}): {spec.reference}"
    )


@cli.command()
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def codes(output_format: str) -> None:
    """List every finding code scim-doctor can report."""
    from scim_doctor.core.findings import CATALOGUE

    if output_format == "json":
        import json

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
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(code) for code in CATALOGUE)
    for spec in CATALOGUE.values():
        click.echo(f"{spec.code:<{width}}  {spec.severity.value:<4}  {spec.title}")


def _fail(message: str, code: int, typed: Sequence[str] = ()) -> NoReturn:
    """One line on stderr and the exit code; a usage error's line is scrubbed of anything that
    may be a token first (`typed`: the values on the command line)."""
    from scim_doctor.core.output import say

    if code == EXIT_USAGE:
        from scim_doctor.core.echo import hint_if_hidden, scrub

        message = hint_if_hidden(scrub(message, typed))
    try:
        say(f"scim-doctor: {message}")
    except OSError:  # stderr is gone (SIGHUP: the terminal closed); the exit code still counts
        pass
    raise SystemExit(code)


def _interrupted() -> str:
    from scim_doctor.core.signals import received

    by = received()
    return f"interrupted by {by}" if by else "interrupted"


def _typed(argv: Sequence[str]) -> list[str]:
    """Every value on the command line: each argument, and the value in `--name=VALUE` and in
    a short option's `-oVALUE`."""
    values = list(argv)
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            values.append(arg.partition("=")[2])
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            values.append(arg[2:])
    return values


def _expected(param: click.Parameter) -> str:
    """What a parameter takes, from its click type: for a message that cannot show the value."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return "one of " + ", ".join(str(choice) for choice in kind.choices)
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        number = "an integer" if isinstance(kind, click.IntRange) else "a number"
        bounds = [f"at least {kind.min}"] if kind.min is not None else []
        bounds += [f"at most {kind.max}"] if kind.max is not None else []
        return f"{number} {' and '.join(bounds)}".strip()
    if isinstance(kind, click.types.IntParamType):
        return "an integer"
    if isinstance(kind, click.types.FloatParamType):
        return "a number"
    return f"a {kind.name}"


def _usage_message(exc: click.UsageError, typed: Sequence[str]) -> str:
    """Click's message; or, when it would repeat a value that may be a token (core/echo.py),
    the message rebuilt from the exception's fields (param, ctx) without the value."""
    from scim_doctor.core.echo import WHERE_TOKENS_GO, hidden, may_echo

    message = exc.format_message()
    unsafe = sorted(
        (value for value in typed if value in message and not may_echo(value, path=True)),
        key=len,
        reverse=True,
    )
    if not unsafe:
        return message
    value = hidden(unsafe[0])
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        return (
            f"Invalid value for {exc.param.get_error_hint(exc.ctx)}: {value}; expected "
            f"{_expected(exc.param)}"
        )
    if isinstance(exc, click.NoSuchOption):
        return f"No such option {value}."
    command = exc.ctx.command if exc.ctx is not None else None
    if isinstance(command, click.Group):  # the name of a command was expected
        return f"No such command {value} (commands: {', '.join(sorted(command.commands))})."
    # The one other usage error click words with what was typed: unexpected extra arguments.
    arguments = [
        p.human_readable_name
        for p in getattr(command, "params", ())
        if isinstance(p, click.Argument)
    ]
    after = f" after {' and '.join(arguments)}" if arguments else ""
    return (
        f"Got an unexpected extra argument{after}: {value}; pass tokens in {WHERE_TOKENS_GO}, "
        "never as an argument"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: maps every failure to one line and a documented exit code."""
    typed = _typed(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=argv, prog_name="scim-doctor", standalone_mode=False)
    except SystemExit:
        raise
    except click.UsageError as exc:
        if type(exc).__name__ in ("NoArgsIsHelp", "NoArgsIsHelpError") and exc.ctx is not None:
            click.echo(exc.ctx.get_help())
            raise SystemExit(EXIT_USAGE) from None
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _fail(f"error: {_usage_message(exc, typed)}{hint}", EXIT_USAGE, typed)
    except click.ClickException as exc:
        _fail(f"error: {exc.format_message()}", EXIT_USAGE, typed)
    except InputError as exc:
        _fail(f"error: {exc}", EXIT_USAGE, typed)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _fail(_interrupted(), EXIT_INTERRUPTED)
    except Exception as exc:
        _fail(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in scim-doctor; please "
            "report it with the command you ran (the token is redacted).",
            EXIT_INTERNAL,
        )
    raise SystemExit(result if isinstance(result, int) else EXIT_OK)
