"""Parsed option values -> the run's Options and the ReportOptions, checked on the way.

Every value a person typed is judged here, before anything connects: a bad one is an
InputError (exit 2) whose message never repeats what may be a token (scim_doctor.core.echo).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scim_doctor.cli.delivery import ReportOptions
from scim_doctor.cli.options import REPORT_FORMATS
from scim_doctor.core.defaults import DEFAULT_DEADLINE
from scim_doctor.core.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from scim_doctor.net.client_cert import ClientCertSource
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import ResolvePin


def positive_seconds(name: str, value: float | None, upper: float = 3600.0) -> float | None:
    """--timeout / --deadline: click checks the number; this checks that it makes sense."""
    if value is None:
        return None
    if not 0 < value <= upper:
        raise InputError(f"{name} {value:g}: must be more than 0 and at most {upper:g} seconds")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3}


def body_size(text: str) -> int:
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


def check_ids(values: Sequence[str], option: str) -> frozenset[str]:
    """--only / --skip: comma-separated or repeated, each one a known check id."""
    from scim_doctor.checks import CHECK_IDS
    from scim_doctor.core.echo import shown

    ids = listed_ids(values)
    for item in ids:
        if item not in CHECK_IDS:
            known = ", ".join(CHECK_IDS)
            raise InputError(f"{option} {shown(item, quote=True)}: unknown check (known: {known})")
    return frozenset(ids)


def listed_ids(values: Sequence[str]) -> list[str]:
    """The ids of --only / --skip in the order typed (comma-separated or repeated), not yet
    checked: checking takes the checks' import, which `check`'s head start does not wait for."""
    return [i for value in values for item in value.split(",") if (i := item.strip())]


def idp_key(name: str | None) -> str | None:
    """--idp: the identity provider's key, from any name it is known by."""
    if not name:
        return None
    from scim_doctor.scim.idp import resolve_idp_name

    try:
        return resolve_idp_name(name)
    except InputError as exc:
        raise InputError(f"--idp: {exc}") from None


def check_proxy(proxy: str) -> str:
    """--proxy: a URL with a scheme httpx can use; the message redacts any credentials in it."""
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


def check_connection(
    proxy: str | None, noproxy: str | None, proxy_pac: str | None, cacert: str | None, store: str
) -> None:
    """--proxy, --noproxy, --proxy-pac and --trust together: refused before any traffic when
    they contradict each other or a PAC file cannot be used."""
    from scim_doctor.core.echo import looks_like_token, shown

    if proxy is not None and proxy_pac is not None:
        raise InputError("--proxy and --proxy-pac both choose the proxy: give one of them")
    entries = [e.strip() for e in (noproxy or "").replace(" ", ",").split(",") if e.strip()]
    for entry in entries:
        if looks_like_token(entry):
            raise InputError(f"--noproxy {shown(entry)}: not a host name, address or CIDR block")
    if cacert is not None and store != "default":
        raise InputError("--cacert replaces the trust store: give it without --trust system")
    if proxy_pac is not None:
        from scim_doctor.net.failures import ProxyConfigError
        from scim_doctor.net.pac import load_pac

        try:
            load_pac(proxy_pac)
        except ProxyConfigError as exc:
            raise InputError(str(exc)) from None


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
    noproxy: str | None = None,
    proxy_pac: str | None = None,
    trust_store: str = "default",
    http_port: int = 80,
    idp: str | None = None,
    reach: str = "internet",
    strict: bool = False,
    deep: bool = False,
    allow_writes: bool = False,
    show_pii: bool = False,
    max_body: str = "10M",
    client_cert: ClientCertSource | None = None,
) -> Options:
    """The run's Options from option values, each checked (`check`, `demo`, `cleanup`)."""
    from scim_doctor.net.context import Options

    timeout_s = positive_seconds("--timeout", timeout)
    assert timeout_s is not None  # noqa: S101 - click gives a default
    deadline_s = positive_seconds("--deadline", deadline, upper=86400.0)
    if deadline_s is None:
        deadline_s = max(DEFAULT_DEADLINE, 6 * timeout_s)
    only_ids = check_ids(only, "--only") if only else None
    return Options(
        timeout=timeout_s,
        deadline=deadline_s,
        cacert=cacert,
        insecure=insecure,
        resolve=resolve,
        proxy=proxy,
        noproxy=noproxy,
        proxy_pac=proxy_pac,
        trust_store=trust_store,
        http_port=http_port,
        expiry_warn_days=expiry_warn_days,
        only=only_ids,
        skip=check_ids(skip, "--skip"),
        idp=idp_key(idp),
        reach=reach,
        strict=strict,
        deep=deep,
        allow_writes=allow_writes,
        show_pii=show_pii,
        max_body=body_size(max_body),
        client_cert=client_cert,
    )


def client_cert_from(values: dict[str, Any]) -> ClientCertSource | None:
    """Take the --cert/--key/--key-passphrase-* values out of `values`; the source they name."""
    from pathlib import Path

    from scim_doctor.core.echo import shown
    from scim_doctor.net.client_cert import ClientCertSource

    cert, key, env, file = (values.pop(name, None) for name in CLIENT_CERT_NAMES)
    if cert is None:
        if key is not None or env is not None or file is not None:
            raise InputError("--key and --key-passphrase-* need --cert")
        return None
    if env is not None and file is not None:
        raise InputError("give the key's passphrase once: --key-passphrase-env or -file")
    if not Path(cert).is_file():
        raise InputError(f"--cert {shown(cert, path=True)}: no such file")
    return ClientCertSource(
        cert=Path(cert),
        key=Path(key) if key is not None else None,
        passphrase_env=env,
        passphrase_file=Path(file) if file is not None else None,
    )


CLIENT_CERT_NAMES = ("cert_file", "key_file", "key_passphrase_env", "key_passphrase_file")


RUN_SETTINGS = (
    "timeout",
    "deadline",
    "expiry_warn_days",
    "only",
    "skip",
    "idp",
    "reach",
    "strict",
    "deep",
    "allow_writes",
    "show_pii",
    "max_body",
)
"""The parameters that become Options (`run_options`, and `--reach` on `check`); the others
say how to report."""


def options_from(run: Mapping[str, Any], **connection: Any) -> Options:
    """Options from the shared `run_options` parameters (`check`, `demo`); `connection` gives
    where to connect and what to trust, and overrides any of them (`demo --fault` writes).
    A setting the command does not offer (`--reach` on `demo`) keeps build_options' default."""
    given = {name: run[name] for name in RUN_SETTINGS if name in run}
    return build_options(**{**given, **connection})


def report_spec(spec: str, formats: Sequence[str]) -> tuple[str, str]:
    """One --report FORMAT=PATH, its path checked writable before the run."""
    from scim_doctor.core.echo import shown
    from scim_doctor.core.output import check_destination

    output_format, sep, destination = spec.partition("=")
    if not sep or not destination or output_format not in formats:
        raise InputError(
            f"--report {shown(spec, quote=True)}: expected FORMAT=PATH with FORMAT one of "
            f"{', '.join(formats)}"
        )
    check_destination(destination)
    return output_format, destination


def report_options(run: dict[str, Any]) -> ReportOptions:
    """Where each report goes, checked before the run so a typo costs no network time."""
    from scim_doctor.core.echo import shown
    from scim_doctor.core.model import Severity
    from scim_doctor.core.output import check_destination

    check_destination(run["output"])
    extra: list[tuple[str, str]] = []
    for spec in run["extra_reports"]:
        extra.append(report_spec(spec, REPORT_FORMATS))
    if run.get("har_path") is not None:
        check_destination(run["har_path"], "--har")
        extra.append(("har", run["har_path"]))
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
