"""The click options `check`, `demo` and `cleanup` share, grouped by what they mean.

Each group is a list of click options applied top to bottom, so `--help` lists them in the
order written here; `run_options` stacks its groups in a fixed order for the same reason.
Only click is imported at load time (start-up cost: see scim_doctor.cli.app).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import click

from scim_doctor.core.defaults import DEFAULT_DEADLINE, DEFAULT_EXPIRY_WARN_DAYS, DEFAULT_TIMEOUT

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Any], Any]

REPORT_FORMATS = ("text", "json", "html", "junit", "markdown", "openmetrics", "nagios", "har")
"""Kept in step with scim_doctor.reporters.FORMATS (a test checks) without importing it."""


def _stacked(func: F, decorators: Sequence[Decorator]) -> F:
    """Apply `decorators` so that the first one written is the first one `--help` lists."""
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def limit_options(func: F) -> F:
    """How long a run may take and how much it may read (`check`, `demo`)."""
    return _stacked(
        func,
        [
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
                help=f"Seconds for the whole run [default: {DEFAULT_DEADLINE:g}, or 6 x "
                "--timeout].",
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
        ],
    )


def scope_options(func: F) -> F:
    """Which checks run and how strictly they judge (`check`, `demo`).

    `--reach` is not here: the demo pins its host to 127.0.0.1 with --resolve, and a pinned
    address is never judged, so on `demo` it would change nothing (see `target_options`)."""
    return _stacked(
        func,
        [
            click.option(
                "--only",
                "only",
                multiple=True,
                metavar="IDS",
                help="Run only these checks (ids such as dns,tls; comma-separated or repeated).",
            ),
            click.option(
                "--skip",
                "skip",
                multiple=True,
                metavar="IDS",
                help="Skip these checks (ids, comma-separated or repeated).",
            ),
            click.option(
                "--idp",
                default=None,
                metavar="NAME",
                help="Give the verdict of one identity provider only (entra, okta, onelogin, "
                "jumpcloud, google).",
            ),
            click.option(
                "--strict",
                is_flag=True,
                help="Report deviations the SCIM validators tolerate, and findings at their "
                "catalogue severity where no identity provider in scope trips on them.",
            ),
            click.option(
                "--deep",
                is_flag=True,
                help="Walk every page of /Users and validate every user (read-only).",
            ),
        ],
    )


def consent_options(func: F) -> F:
    """What the run may reveal, keep or change beyond a read-only report (`check`, `demo`)."""
    return _stacked(
        func,
        [
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
                help="Also write a support bundle: HTML, JSON, text, Markdown, the HAR "
                "transcript and a README, redacted.",
            ),
            click.option(
                "--har",
                "har_path",
                default=None,
                metavar="PATH",
                help="Also write every request and response of the run as an HTTP Archive "
                "(HAR 1.2), redacted; the same as --report har=PATH.",
            ),
            click.option(
                "--allow-writes",
                is_flag=True,
                help="Run the lifecycle check: create, change and delete test resources "
                "(cleaned up).",
            ),
        ],
    )


def output_options(func: F) -> F:
    """The verdict's threshold and where each report goes (`check`, `demo`)."""
    return _stacked(
        func,
        [
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
                "-v",
                "--verbose",
                is_flag=True,
                help="Add the redacted HTTP exchanges (text format).",
            ),
        ],
    )


def run_options(func: F) -> F:
    """Options shared by `check` and `demo`: how to run and how to report."""
    return _stacked(func, [limit_options, scope_options, consent_options, output_options])


FLEET_OPTIONS = (
    "config_path",
    "target_names",
    "target_tags",
    "shard",
    "concurrency",
    "quiet",
    "repeat_count",
    "interval",
)
"""The `fleet_options` parameters: `check` pops them before the single-target run."""


def fleet_options(func: F) -> F:
    """`check` options for many targets (--config), CI output (--quiet) and --repeat."""
    return _stacked(
        func,
        [
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
                "--shard",
                default=None,
                metavar="K/N",
                help="With --config: check only shard K of N (1-based), as one job of a CI "
                "matrix; a target's shard depends on its name alone, so adding one moves no "
                "other.",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(1, 1000),
                default=None,
                help="With --config: targets checked at once [default: 20, or the file's].",
            ),
            click.option(
                "--quiet",
                "-q",
                is_flag=True,
                help="Print only the problems, nothing when all is well.",
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
        ],
    )


def token_options(func: F) -> F:
    """Where the token comes from, never the command line (`check`, `cleanup`).

    No `--no-token` here: `cleanup` deletes resources and cannot work without a token, so only
    `check` offers it (`connection_options`)."""
    return _stacked(
        func,
        [
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
        ],
    )


NO_TOKEN = click.option(
    "--no-token",
    is_flag=True,
    help="Check without a token (the checks that need one are skipped with the reason).",
)
"""`check` only: a check without a token still judges the transport and the discovery."""

CHECK_INSECURE_HELP = (
    "Run later checks past a certificate failure; the TLS findings stay in the report."
)
CLEANUP_INSECURE_HELP = "Do not verify the server's certificate (there is no TLS check here)."


def trust_options(insecure_help: str) -> Decorator:
    """What to trust and how to reach the host (`check`, `cleanup`); `--insecure` says what it
    does in the command that offers it (a check goes on past a TLS failure, a clean-up simply
    does not verify)."""
    return functools.partial(_stacked, decorators=_trust_decorators(insecure_help))


def _trust_decorators(insecure_help: str) -> list[Decorator]:
    return [
        click.option(
            "--cacert",
            type=click.Path(dir_okay=True),
            default=None,
            help="Trust only the CAs in this PEM file (replaces the default store, as in curl).",
        ),
        click.option("--insecure", "-k", is_flag=True, help=insecure_help),
        click.option(
            "--resolve",
            "resolve_specs",
            multiple=True,
            metavar="HOST:PORT:ADDR[,ADDR...]",
            help="Connect to ADDR for HOST:PORT, keeping HOST for SNI, certificate and Host "
            "(as curl); several addresses are the nodes behind the name; repeatable.",
        ),
        click.option(
            "--proxy",
            default=None,
            metavar="URL",
            help="HTTP(S) proxy for every connection [default: HTTPS_PROXY / ALL_PROXY from the "
            "environment]; credentials in it are better given in HTTPS_PROXY (the command line "
            "is visible to other users).",
        ),
        click.option(
            "--noproxy",
            default=None,
            metavar="LIST",
            help="Hosts that go direct, as curl's: comma-separated names (subdomains match), "
            "HOST:PORT, addresses and CIDR blocks, or * [default: NO_PROXY]; '' ignores NO_PROXY.",
        ),
        click.option(
            "--proxy-pac",
            default=None,
            metavar="FILE|URL",
            help="A proxy auto-config file (as a company browser uses) that chooses the proxy "
            "for each URL.",
        ),
        click.option(
            "--trust",
            "trust_store",
            type=click.Choice(["default", "system"]),
            default="default",
            show_default=True,
            help="Trust store: default (certifi, or SSL_CERT_FILE) or system (the operating "
            "system's, where a company's TLS-inspection CA is installed).",
        ),
        *CLIENT_CERT_OPTIONS,
    ]


CLIENT_CERT_OPTIONS: tuple[Decorator, ...] = (
    click.option(
        "--cert",
        "cert_file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="PEM",
        help="Client certificate to present (PEM, as curl; may hold the key too).",
    ),
    click.option(
        "--key",
        "key_file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="PEM",
        help="Private key of --cert (PEM), when it is not in the --cert file.",
    ),
    click.option(
        "--key-passphrase-env",
        default=None,
        metavar="NAME",
        help="Environment variable holding the key's passphrase (never on the command line).",
    ),
    click.option(
        "--key-passphrase-file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="File whose first line is the key's passphrase.",
    ),
)
"""`--cert`/`--key` as curl; the passphrase from the environment or a file, never argv."""


def connection_options(func: F) -> F:
    """`check`: where the token comes from (or --no-token), what to trust, how to reach the
    host, and where the identity provider reaches it from."""
    return _stacked(
        func,
        [
            token_options,
            NO_TOKEN,
            trust_options(CHECK_INSECURE_HELP),
            click.option(
                "--http-port",
                type=click.IntRange(1, 65535),
                default=80,
                show_default=True,
                help="Port of the host's plain-HTTP listener, probed for a safe redirect to HTTPS.",
            ),
            click.option(
                "--reach",
                type=click.Choice(["internet", "private"]),
                default="internet",
                show_default=True,
                help="Where the identity provider connects from: the internet (a cloud "
                "provider), or a private network (an on-premises agent, a test server here), "
                "where private and loopback addresses are expected.",
            ),
        ],
    )


def cleanup_connection_options(func: F) -> F:
    """`cleanup`: where the token comes from (it needs one), what to trust, how to reach."""
    return _stacked(func, [token_options, trust_options(CLEANUP_INSECURE_HELP)])


def stops_like_ctrl_c(command: F) -> F:
    """SIGTERM and SIGHUP end this command as Ctrl-C does, only while it runs: the lifecycle
    cleans up and says what it deleted, and the exit code is 130 (see scim_doctor.signals)."""

    @functools.wraps(command)
    def run_command(*args: Any, **kwargs: Any) -> Any:
        from scim_doctor.core.signals import stop_like_ctrl_c

        with stop_like_ctrl_c():
            return command(*args, **kwargs)

    return cast(F, run_command)
