"""Fixtures for the demo server's tests: a running server and a client that trusts its CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from scim_doctor.demo.server import DemoServer

TOKEN = "demo-token-0123456789abcdef"


def trusting_context(server: DemoServer) -> ssl.SSLContext:
    """What `--cacert` gives the doctor: the demo root, nothing else."""
    return ssl.create_default_context(cadata=server.ca_pem.decode())


def scim_client(server: DemoServer, token: str | None = TOKEN) -> httpx.Client:
    """A client on 127.0.0.1 (the healthy certificate covers it) with the bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(
        base_url=f"https://127.0.0.1:{server.port}/scim/v2",
        verify=trusting_context(server),
        headers=headers,
        timeout=5.0,
    )


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with DemoServer(TOKEN) as running:
        yield running


@pytest.fixture
def client(server: DemoServer) -> Iterator[httpx.Client]:
    with scim_client(server) as http:
        yield http
