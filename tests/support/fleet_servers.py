"""A small fleet of demo servers behind many named targets, and the config file that lists them.

A handful of DemoServer instances (healthy and faulty) each answer for many target names: every
target gets its own host name pinned to the server with `resolve`, as a real fleet config
would pin names it cannot resolve from CI. One CA bundle holds every server's root.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scim_doctor.demo.fault_kit import Fault
from scim_doctor.demo.pki import CertificateAuthority
from scim_doctor.demo.server import DemoServer

TOKEN = "canary-fleet-7c1d9e2b4a6f8035"
TOKEN_ENV = "FLEET_SCIM_TOKEN"
DOMAIN = "fleet.test"


@dataclass
class FleetServers:
    """Running servers by label, the CA bundle that trusts them all, and where files go."""

    servers: dict[str, DemoServer]
    cacert: Path
    directory: Path
    lines: list[str] = field(default_factory=list)

    def url(self, label: str, name: str) -> str:
        server = self.servers[label]
        return f"https://{name}.{label}.{DOMAIN}:{server.port}/scim/v2"

    def pin(self, label: str, name: str) -> str:
        server = self.servers[label]
        return f"{name}.{label}.{DOMAIN}:{server.port}:{server.bind}"

    def config(
        self,
        targets: Sequence[tuple[str, str]],
        *,
        defaults: Mapping[str, str] | None = None,
        extra: Mapping[str, str] | None = None,
        file_name: str = "scim-doctor.toml",
    ) -> Path:
        """Write a config with one [[targets]] per (name, server label); return its path."""
        settings = {
            "timeout": "2",
            "cacert": f'"{self.cacert.name}"',
            "token_env": f'"{TOKEN_ENV}"',
            **(defaults or {}),
        }
        lines = ["[defaults]", *(f"{key} = {value}" for key, value in settings.items()), ""]
        for name, label in targets:
            lines += [
                "[[targets]]",
                f'name = "{name}"',
                f'url = "{self.url(label, name)}"',
                f'resolve = ["{self.pin(label, name)}"]',
                f'tags = ["{label}"]',
                *(f"{key} = {value}" for key, value in (extra or {}).items()),
                "",
            ]
        path = self.directory / file_name
        path.write_text("\n".join(lines), encoding="utf-8")
        return path


@contextlib.contextmanager
def fleet_servers(
    directory: Path, kinds: Mapping[str, str | Fault | None]
) -> Iterator[FleetServers]:
    """Start one DemoServer per label (`{"healthy-1": None, "expired": "expired_cert"}`).

    Each certificate covers `*.<label>.fleet.test`, so any target name under it verifies.
    """
    with contextlib.ExitStack() as stack:
        servers: dict[str, DemoServer] = {}
        for label, fault in kinds.items():
            server = DemoServer(TOKEN, fault=fault, hostname=f"*.{label}.{DOMAIN}")
            servers[label] = stack.enter_context(server)
        bundle = directory / "fleet-ca.pem"
        bundle.write_bytes(b"".join(server.ca_pem for server in servers.values()))
        yield FleetServers(servers=servers, cacert=bundle, directory=directory)


def unused_ca(directory: Path) -> Path:
    """A CA bundle that trusts none of the servers (for 'untrusted' scenarios)."""
    return CertificateAuthority("stranger").write_root_pem(directory, "stranger.pem")
