"""The trust store: one verifying SSL context per process, built the way curl would.

certifi by default; `--cacert` replaces it (curl semantics); `SSL_CERT_FILE` / `SSL_CERT_DIR`
are honoured when no --cacert is given, like httpx and OpenSSL do. `--trust system` uses the
operating system's store instead, through `truststore` (Windows' and macOS' own verification,
the distribution's bundle on Linux): where a company's TLS-inspection CA is installed, so
browsers trust what Python tools built on certifi refuse. Building a context loads and parses
a whole CA bundle (~20 ms), so it is built once and shared by every probe and client.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import ssl
import sys
import threading
import warnings
from pathlib import Path

from msgspec import Struct

from scim_doctor.core.echo import shown
from scim_doctor.core.errors import InputError
from scim_doctor.net.client_cert import ClientCert, ClientCertSource, load_into

_cache: dict[tuple[str, str, str, str, str], Trust] = {}
STORES = ("default", "system")
"""--trust choices: `default` (certifi, or SSL_CERT_FILE / SSL_CERT_DIR) and `system`."""
_lock = threading.Lock()


class Trust(Struct, frozen=True):
    """A verifying client context and a human description of where its roots come from."""

    context: ssl.SSLContext
    description: str
    """e.g. 'certifi 2024.8.30', '--cacert corp.pem', 'SSL_CERT_FILE=/etc/ssl/x.pem',
    'the system store (truststore 0.10.5; /etc/ssl/certs/ca-certificates.crt)'."""
    kind: str = "default"
    """default, system or cacert: which store this is (`alternative()` is the other one)."""
    client: ClientCert | None = None
    """The client certificate the context presents (--cert), and what is wrong with it."""
    insecure_context: ssl.SSLContext | None = None
    """With a client certificate: a non-verifying context that presents it too (--insecure)."""


def _check_file(path: Path, what: str) -> None:
    where = f"{what} {shown(str(path), path=True)}"
    if not path.exists():
        raise InputError(f"{where}: no such file")
    if path.is_dir():
        raise InputError(f"{where}: is a directory, expected a PEM file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror})") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise InputError(f"{where}: holds no PEM certificate")


ALPN = ["http/1.1", "h2"]
"""What every context offers: what httpcore sets on it anyway for each connection of the HTTP
client (HTTP/2 on), so the TLS check's own handshakes offer the same from the start."""


def _new_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    return context


def _identity(path: Path | None) -> str:
    """The cache key of a CA file: its path and content, so a rewritten file is reloaded."""
    if path is None:
        return ""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = "unreadable"  # _check_file reports it when the context is built
    return f"{path}#{digest}"


def _system_trust() -> Trust:
    """The operating system's store, through truststore."""
    import truststore

    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    where = ""
    if sys.platform not in ("win32", "darwin"):
        paths = ssl.get_default_verify_paths()
        where = f"; {paths.cafile or paths.capath or 'the distribution bundle'}"
    version = getattr(truststore, "__version__", "")
    return Trust(context, f"the system store (truststore {version}{where})", "system")


def alternative(trust: Trust) -> Trust | None:
    """The store a report compares with: the system store for the default one or --cacert,
    the default one for the system store (None when it cannot be loaded)."""
    try:
        return load_trust(None, "default" if trust.kind == "system" else "system")
    except (InputError, ImportError, OSError, ssl.SSLError):
        return None


def load_trust(
    cacert: Path | None = None,
    store: str = "default",
    client_cert: ClientCertSource | None = None,
) -> Trust:
    """The shared verifying context for this process (and this --cacert or --trust, and the
    client certificate of --cert/--key)."""
    env_file = os.environ.get("SSL_CERT_FILE", "")
    env_dir = os.environ.get("SSL_CERT_DIR", "")
    kind = "cacert" if cacert is not None else store
    client_key = client_cert.identity() if client_cert else ""
    key = (
        _identity(cacert),
        _identity(Path(env_file)) if env_file else "",
        env_dir,
        kind,
        client_key,
    )
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if kind == "system":
            trust = _system_trust()
            if client_cert is not None:
                presented = load_into(trust.context, client_cert)
                insecure = _insecure_with(client_cert, presented)
                trust = Trust(trust.context, trust.description, trust.kind, presented, insecure)
            _cache[key] = trust
            return trust
        context = _new_context()
        if cacert is not None:
            _check_file(cacert, "--cacert")
            try:
                context.load_verify_locations(cafile=str(cacert))
            except ssl.SSLError as exc:
                raise InputError(f"--cacert {cacert}: not a valid PEM bundle ({exc})") from None
            description = f"--cacert {cacert}"
        elif env_file or env_dir:
            if env_file:
                _check_file(Path(env_file), "SSL_CERT_FILE")
            try:
                context.load_verify_locations(cafile=env_file or None, capath=env_dir or None)
            except (ssl.SSLError, OSError) as exc:
                raise InputError(f"SSL_CERT_FILE/SSL_CERT_DIR cannot be loaded ({exc})") from None
            description = f"SSL_CERT_FILE={env_file}" if env_file else f"SSL_CERT_DIR={env_dir}"
        else:
            import certifi

            context.load_verify_locations(cafile=certifi.where())
            description = f"certifi {certifi.__version__}"
        client = load_into(context, client_cert) if client_cert is not None else None
        trust = Trust(
            context=context,
            description=description,
            kind=kind,
            client=client,
            insecure_context=_insecure_with(client_cert, client),
        )
        _cache[key] = trust
        return trust


def load_in_background(
    cacert: Path | None = None,
    store: str = "default",
    client_cert: ClientCertSource | None = None,
) -> None:
    """Start building what `load_trust` returns in a daemon thread: OpenSSL parses a bundle
    (certifi's ~150 roots: ~17 ms) with the GIL released, so the rest of start-up goes on
    meanwhile (issue 21). `load_trust` later finds it built, or waits for it under the lock;
    a failure here is left for that call to raise again."""

    def build() -> None:
        with contextlib.suppress(Exception):
            load_trust(cacert, store, client_cert)

    threading.Thread(target=build, name="trust store", daemon=True).start()


def _insecure_with(
    source: ClientCertSource | None, client: ClientCert | None
) -> ssl.SSLContext | None:
    """A non-verifying context presenting the client certificate, when there is one to present."""
    if source is None or client is None or not client.loaded:
        return None
    context = unverified_context()
    load_into(context, source)
    return context


def unverified_context(minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> ssl.SSLContext:
    """A context that accepts any certificate: only to fetch what a failing server presents."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if minimum < ssl.TLSVersion.TLSv1_2:
        # OpenSSL 3 refuses TLS < 1.2 at the default security level, and Python deprecates
        # the old versions themselves; we only want to see whether the server speaks one, to
        # name the problem.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = minimum
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        context.minimum_version = minimum
    return context
