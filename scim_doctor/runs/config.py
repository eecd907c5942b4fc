"""The fleet file `scim-doctor.toml`: `[defaults]` and `[[targets]]`, validated into frozen records.

A CI job checks many endpoints with one file, so a mistake in it must name the file, the line
and the key, and stop the run before any network step (InputError: exit 2, one line). tomllib
reports no line numbers for keys; they are found by scanning the text of the key's table (best
effort: the table's header line when the key cannot be found).

Tokens never live in the file: a target names where its token is (`token_env`, `token_file`).
So do client-certificate key passphrases: `cert` and `key` are PEM files, the passphrase is named
by `key_passphrase_env` or `key_passphrase_file`, and a `key_passphrase` key is refused.
A `token` key, or a value that looks like a token where a name or a path belongs, is refused
with a message that does not show the value: the file is probably committed to a repository.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from scim_doctor.core.defaults import (
    DEFAULT_DEADLINE,
    DEFAULT_EXPIRY_WARN_DAYS,
    DEFAULT_MAX_BODY,
    DEFAULT_TIMEOUT,
)
from scim_doctor.core.echo import JWT, SCHEME_PREFIXES, looks_like_token, shown
from scim_doctor.core.errors import InputError
from scim_doctor.core.files import read_at_most
from scim_doctor.runs.config_values import (
    _bool,
    _check_ids,
    _check_keys,
    _integer,
    _Lines,
    _no_token_in,
    _number,
    _path,
    _proxy,
    _string,
    _strings,
    _Where,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

if TYPE_CHECKING:
    from scim_doctor.core.model import Severity
    from scim_doctor.core.secrets import Secret
    from scim_doctor.net.client_cert import ClientCertSource
    from scim_doctor.net.context import Options
    from scim_doctor.net.target import ResolvePin, Target

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FILE",
    "FleetConfig",
    "TargetConfig",
    "TokenSource",
    "load_config",
    "looks_like_token",
]

DEFAULT_FILE = "scim-doctor.toml"
DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 1000
MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""A fleet file of thousands of targets is a few hundred KiB; more is the wrong file."""

# Keys a target may set; [defaults] takes the same except the target's identity.
_TARGET_ONLY = ("name", "url", "tags")
_SHARED_KEYS = (
    "token_env",
    "token_file",
    "no_token",
    "cacert",
    "cert",
    "key",
    "key_passphrase_env",
    "key_passphrase_file",
    "insecure",
    "resolve",
    "proxy",
    "noproxy",
    "proxy_pac",
    "trust",
    "http_port",
    "idp",
    "reach",
    "only",
    "skip",
    "fail_on",
    "timeout",
    "deadline",
    "expiry_warn_days",
    "write",
)
TARGET_KEYS = frozenset(_TARGET_ONLY + _SHARED_KEYS)
DEFAULTS_KEYS = frozenset((*_SHARED_KEYS, "concurrency"))
TOP_KEYS = frozenset(("defaults", "targets"))

# Keys that can only mean "the credential itself is in this file".

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,99}$")


class TokenSource(Struct, frozen=True):
    """Where a target's token comes from (one of them, or none at all)."""

    env: str | None = None
    """Name of an environment variable."""
    file: Path | None = None
    """A file, resolved against the config file's directory."""
    none: bool = False
    """`no_token = true`: check without a token, as `--no-token`."""

    def describe(self) -> str:
        if self.none:
            return "no token"
        if self.file is not None:
            return f"token_file {self.file}"
        return f"token_env {self.env}"


class TargetConfig(Struct, frozen=True):
    """One `[[targets]]` entry with `[defaults]` applied, checked and normalised."""

    name: str
    """Unique in the file; what --target selects and reports show."""
    target: Target
    """The parsed base URL."""
    tags: tuple[str, ...]
    token: TokenSource
    cacert: Path | None
    """Resolved against the config file's directory."""
    insecure: bool
    resolve: tuple[ResolvePin, ...]
    proxy: str | None
    http_port: int
    idp: str | None
    """An identity provider profile name (free text for now)."""
    reach: str
    only: frozenset[str] | None
    skip: frozenset[str]
    fail_on: Severity
    timeout: float
    deadline: float
    expiry_warn_days: int
    source: str
    """`FILE:LINE` of the target's `[[targets]]` header, for messages and annotations."""
    line: int
    """Line of the `[[targets]]` header (1-based)."""
    allow_writes: bool = False
    """`write = true`: run the lifecycle check (creates and deletes test resources)."""
    deep: bool = False
    strict: bool = False
    show_pii: bool = False
    max_body: int = DEFAULT_MAX_BODY
    """Bytes read from one response body: `check --config --max-body` sets it for every target."""
    noproxy: str | None = None
    """`noproxy`: hosts that go direct (curl's list), replacing NO_PROXY."""
    proxy_pac: str | None = None
    """`proxy_pac`: a PAC file (path, resolved against the config file's directory, or URL)."""
    trust_store: str = "default"
    """`trust = "system"`: the operating system's trust store."""
    client_cert: ClientCertSource | None = None
    """`cert` / `key` / `key_passphrase_env` / `key_passphrase_file`: the client certificate to
    present (as --cert, --key, --key-passphrase-env, --key-passphrase-file)."""

    def options(self) -> Options:
        from scim_doctor.net.context import Options

        return Options(
            timeout=self.timeout,
            deadline=self.deadline,
            cacert=self.cacert,
            insecure=self.insecure,
            resolve=self.resolve,
            proxy=self.proxy,
            noproxy=self.noproxy,
            proxy_pac=self.proxy_pac,
            trust_store=self.trust_store,
            http_port=self.http_port,
            expiry_warn_days=self.expiry_warn_days,
            only=self.only,
            skip=self.skip,
            idp=self.idp,
            reach=self.reach,
            allow_writes=self.allow_writes,
            deep=self.deep,
            strict=self.strict,
            show_pii=self.show_pii,
            max_body=self.max_body,
            client_cert=self.client_cert,
        )

    def read_token(self) -> Secret | None:
        """The token, read now from where the file says it is (InputError naming the target)."""
        from scim_doctor.core.credentials import read_token

        source = self.token
        if source.none:
            return None
        where = f"{self.source}: target {self.name!r}"
        if source.file is not None:
            if not source.file.exists():
                raise InputError(f"{where}: token_file {source.file}: no such file")
            try:
                return read_token(token_env=None, token_file=source.file, token_stdin=False)
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
        name = source.env or "SCIM_TOKEN"
        if name not in os.environ:
            raise InputError(
                f"{where}: no token: the environment variable {name} (token_env) is not set"
            )
        try:
            return read_token(token_env=name, token_file=None, token_stdin=False)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None


class FleetConfig(Struct, frozen=True):
    """A whole config file: its targets in file order and how many run at once."""

    path: Path
    targets: tuple[TargetConfig, ...]
    concurrency: int

    def select(
        self, names: Sequence[str] = (), tags: Sequence[str] = ()
    ) -> tuple[TargetConfig, ...]:
        """Targets named by --target or carrying a --tag (all when neither is given), in order."""
        known = {t.name for t in self.targets}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(
                f"--target {shown(unknown[0], quote=True)}: no such target in {self.path} "
                f"(known: {_short_list(sorted(known))})"
            )
        all_tags = {tag for t in self.targets for tag in t.tags}
        missing = [tag for tag in tags if tag not in all_tags]
        if missing:
            raise InputError(
                f"--tag {shown(missing[0], quote=True)}: no target in {self.path} carries it "
                f"(tags: {_short_list(sorted(all_tags)) or 'none'})"
            )
        if not names and not tags:
            return self.targets
        wanted_names, wanted_tags = set(names), set(tags)
        return tuple(
            t for t in self.targets if t.name in wanted_names or wanted_tags.intersection(t.tags)
        )


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


# --- locating keys in the text ----------------------------------------------------------------


# --- values -----------------------------------------------------------------------------------


# --- tables -----------------------------------------------------------------------------------


def _settings(where: _Where, table: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """The shared keys of one table, checked and converted (only those present)."""
    from scim_doctor.core.model import Severity
    from scim_doctor.net.target import parse_resolve

    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "token_env":
            name = _string(where, key, value)
            _no_token_in(where, key, name, "the name of an environment variable")
            if not _ENV_NAME.match(name):
                raise where.error(key, f"{name!r} is not an environment variable name")
            out[key] = name
        elif key == "token_file":
            _no_token_in(where, key, _string(where, key, value), "a file name")
            out[key] = _path(where, key, value, base)
        elif key in ("no_token", "insecure", "write"):
            out[key] = _bool(where, key, value)
        elif key in ("cacert", *_CLIENT_CERT_KEYS):
            out[key] = _certificate_setting(where, key, value, base)
        elif key == "resolve":
            pins = []
            for spec in _strings(where, key, value):
                try:
                    pins.append(parse_resolve(spec))
                except InputError as exc:
                    raise where.error(key, str(exc).removeprefix("--resolve ")) from None
            out[key] = tuple(pins)
        elif key == "proxy":
            out[key] = _proxy(where, key, value)
        elif key == "http_port":
            out[key] = _integer(where, key, value, 1, 65535)
        elif key == "idp":
            idp = _string(where, key, value)
            _no_token_in(where, key, idp, "an identity provider profile name")
            from scim_doctor.scim.idp import resolve_idp_name

            try:
                out[key] = resolve_idp_name(idp)
            except InputError as exc:
                raise InputError(f"{where}: {key}: {exc}") from None
        elif key == "noproxy":
            hosts = _string(where, key, value)
            _no_token_in(where, key, hosts, "a list of host names")
            out[key] = hosts
        elif key == "proxy_pac":
            text = _string(where, key, value)
            url = text.lower().startswith(("http://", "https://"))
            out[key] = text if url else str(_path(where, key, value, base))
        elif key == "trust":
            if value not in ("default", "system"):
                raise where.error(key, 'expected "default" or "system"')
            out[key] = value
        elif key == "reach":
            if value not in ("internet", "private"):
                raise where.error(key, 'expected "internet" or "private"')
            out[key] = value
        elif key in ("only", "skip"):
            ids = _check_ids(where, key, value)
            # `only = []` lifts a default restriction: every check, as without --only.
            out[key] = None if key == "only" and not ids else ids
        elif key == "fail_on":
            if value not in ("warn", "fail"):
                raise where.error(key, 'expected "warn" or "fail"')
            out[key] = Severity(value)
        elif key == "timeout":
            out[key] = _number(where, key, value, 3600.0)
        elif key == "deadline":
            out[key] = _number(where, key, value, 86400.0)
        elif key == "expiry_warn_days":
            out[key] = _integer(where, key, value, 0, 3650)
        elif key == "concurrency":
            out[key] = _integer(where, key, value, 1, MAX_CONCURRENCY)
    return out


def _certificate_setting(where: _Where, key: str, value: Any, base: Path) -> Path | str:
    """`cacert`, `cert`, `key`, `key_passphrase_file`: an existing file; `key_passphrase_env`:
    the name of a variable, never the passphrase itself."""
    text = _string(where, key, value)
    if key == "key_passphrase_env":
        _no_token_in(where, key, text, "the name of an environment variable")
        if not _ENV_NAME.match(text):
            raise where.error(
                key,
                "expects the name of an environment variable that holds the passphrase, not "
                "the passphrase (the value is not shown)",
            )
        return text
    _no_token_in(where, key, text, "a file name")
    path = _path(where, key, value, base)
    if not path.is_file():
        raise where.error(key, f"{path}: no such file")
    return path


_TOKEN_KEYS = ("token_env", "token_file", "no_token")


def _token_keys(table: Mapping[str, Any]) -> list[str]:
    return [key for key in _TOKEN_KEYS if key in table and table[key] is not False]


def _token_source(
    where: _Where, own: Mapping[str, Any], defaults: Mapping[str, Any]
) -> TokenSource:
    """The target's own token source replaces the defaults' as a whole."""
    chosen = own if _token_keys(own) else defaults
    keys = _token_keys(chosen)
    if len(keys) > 1:
        raise where.error(keys[1], f"choose one of {', '.join(_TOKEN_KEYS)}")
    if chosen.get("no_token"):
        return TokenSource(none=True)
    if "token_file" in chosen:
        return TokenSource(file=chosen["token_file"])
    return TokenSource(env=chosen.get("token_env"))


_CLIENT_CERT_KEYS = ("cert", "key", "key_passphrase_env", "key_passphrase_file")


def _client_cert(
    where: _Where, own: Mapping[str, Any], defaults: Mapping[str, Any]
) -> ClientCertSource | None:
    """The target's own client-certificate keys replace the defaults' as a whole, as on the
    command line: `cert` is needed for the others, one passphrase source at most."""
    from scim_doctor.net.client_cert import ClientCertSource

    chosen = own if any(k in own for k in _CLIENT_CERT_KEYS) else defaults
    if "cert" not in chosen:
        extra = next((k for k in _CLIENT_CERT_KEYS if k in chosen), None)
        if extra is not None:
            raise where.error(extra, "needs cert (the client certificate's PEM file)")
        return None
    if "key_passphrase_env" in chosen and "key_passphrase_file" in chosen:
        raise where.error(
            "key_passphrase_file", "give the passphrase once: key_passphrase_env or _file"
        )
    return ClientCertSource(
        cert=chosen["cert"],
        key=chosen.get("key"),
        passphrase_env=chosen.get("key_passphrase_env"),
        passphrase_file=chosen.get("key_passphrase_file"),
    )


def _target(
    where: _Where, table: Mapping[str, Any], defaults: Mapping[str, Any], base: Path, line: int
) -> TargetConfig:
    from scim_doctor.core.model import Severity
    from scim_doctor.core.secrets import redact
    from scim_doctor.net.target import parse_base_url

    _check_keys(where, table, TARGET_KEYS)
    if "url" not in table:
        raise where.error(None, "has no url")
    url = _string(where, "url", table["url"])
    try:
        target = parse_base_url(url)
    except InputError as exc:
        raise where.error("url", redact(str(exc))) from None
    name = _string(where, "name", table["name"]) if "name" in table else target.host
    if JWT.search(name) or name.lower().startswith(SCHEME_PREFIXES):
        _no_token_in(where, "name", name, "a name")
    if not _NAME.match(name):
        raise where.error(
            "name", f"{name!r}: use letters, digits and . _ - : @ + / (at most 100, no spaces)"
        )
    tags = _strings(where, "tags", table.get("tags", []))
    for tag in tags:
        if not _NAME.match(tag):
            raise where.error("tags", f"{tag!r}: use letters, digits and . _ - : @ + /")
    own = _settings(where, {k: v for k, v in table.items() if k not in _TARGET_ONLY}, base)
    merged = {**defaults, **own}
    timeout = merged.get("timeout", DEFAULT_TIMEOUT)
    deadline = merged.get("deadline", max(DEFAULT_DEADLINE, 6 * timeout))
    return TargetConfig(
        name=name,
        target=target,
        tags=tuple(dict.fromkeys(tags)),
        token=_token_source(where, own, defaults),
        cacert=merged.get("cacert"),
        insecure=merged.get("insecure", False),
        resolve=merged.get("resolve", ()),
        proxy=merged.get("proxy"),
        http_port=merged.get("http_port", 80),
        idp=merged.get("idp"),
        reach=merged.get("reach", "internet"),
        only=merged.get("only"),
        skip=merged.get("skip", frozenset()),
        fail_on=merged.get("fail_on", Severity.FAIL),
        timeout=timeout,
        deadline=deadline,
        expiry_warn_days=merged.get("expiry_warn_days", DEFAULT_EXPIRY_WARN_DAYS),
        source=f"{where.path}:{line}",
        line=line,
        allow_writes=merged.get("write", False),
        noproxy=merged.get("noproxy"),
        proxy_pac=merged.get("proxy_pac"),
        trust_store=merged.get("trust", "default"),
        client_cert=_client_cert(where, own, defaults),
    )


def _read(path: Path) -> str:
    if not path.exists():
        raise InputError(f"--config {shown(str(path), path=True)}: no such file")
    raw = read_at_most(path, MAX_CONFIG_BYTES, f"--config {path}")
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"--config {path}: larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"--config {path}: not UTF-8 text (byte {exc.start})") from None


_DECODE_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_config(text: str, path: Path, shown: str | None = None) -> FleetConfig:
    """Validate the text of a config file; `path` anchors relative paths in it."""
    shown = shown or str(path)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _DECODE_POSITION.search(message)
        line = f":{position.group(1)}" if position else ""
        reason = _DECODE_POSITION.sub("", message).strip().rstrip(".")
        raise InputError(f"{shown}{line}: not valid TOML: {reason}") from None
    lines = _Lines(text)
    base = path.resolve().parent
    top = _Where(shown, lines, None, "top level")
    _check_keys(top, data, TOP_KEYS)

    raw_defaults = data.get("defaults", {})
    defaults_where = _Where(shown, lines, lines.table("defaults"), "[defaults]")
    if not isinstance(raw_defaults, dict):
        raise top.error("defaults", "expected a table ([defaults])")
    _check_keys(defaults_where, raw_defaults, DEFAULTS_KEYS)
    defaults = _settings(defaults_where, raw_defaults, base)
    if len(_token_keys(defaults)) > 1:
        raise defaults_where.error(
            _token_keys(defaults)[1], f"choose one of {', '.join(_TOKEN_KEYS)}"
        )
    concurrency = defaults.pop("concurrency", DEFAULT_CONCURRENCY)

    raw_targets = data.get("targets")
    if raw_targets is None:
        raise InputError(f"{shown}: no [[targets]]: add one per endpoint to check")
    if not isinstance(raw_targets, list) or not all(isinstance(t, dict) for t in raw_targets):
        raise top.error("targets", "expected an array of tables ([[targets]])")
    if not raw_targets:
        raise InputError(f"{shown}: no [[targets]]: add one per endpoint to check")

    targets: list[TargetConfig] = []
    names: dict[str, int] = {}
    for index, table in enumerate(raw_targets):
        header = lines.table("targets", index) or lines.key(None, "targets") or 0
        label = f"[[targets]] #{index + 1}"
        if isinstance(table.get("name"), str) and not looks_like_token(table["name"]):
            label += f" {table['name']!r}"
        where = _Where(shown, lines, header or None, label)
        target = _target(where, table, defaults, base, header)
        if target.name in names:
            raise where.error(
                "name" if "name" in table else "url",
                f"target name {target.name!r} is already used by target #{names[target.name]}; "
                "names must be unique (set name = ...)",
            )
        names[target.name] = index + 1
        targets.append(target)
    return FleetConfig(path=path, targets=tuple(targets), concurrency=concurrency)


def load_config(path: Path) -> FleetConfig:
    """Read and validate a config file (InputError naming file, line and key on any mistake)."""
    return parse_config(_read(path), path)
