"""The demo server as a transport: lifecycle, recording, keep-alive, plain-HTTP redirect, hooks."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.demo.faults import FAULTS, Fault, map_response, on_route
from scim_doctor.demo.scim_app import Handler, Request, Response, error_response
from scim_doctor.demo.server import DemoServer
from tests.demo.conftest import TOKEN, scim_client, trusting_context


def _demo_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scim-demo-")]


def test_unknown_fault_is_a_value_error_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="no_such_fault") as raised:
        DemoServer(TOKEN, fault="no_such_fault")

    assert "expired_cert" in str(raised.value)


def test_every_fault_names_its_layer_and_the_findings_it_must_cause() -> None:
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert fault.layer in ("tls", "socket", "http")
        assert fault.expect
        assert all(code.count(".") == 1 for code in fault.expect)
        assert fault.summary


def test_every_expected_finding_code_is_in_the_catalogue() -> None:
    expected = {code for fault in FAULTS.values() for code in fault.expect}

    assert expected - set(CATALOGUE) == set()


def test_addresses_point_at_the_demo_hostname_through_the_pin(server: DemoServer) -> None:
    assert server.base_url == f"https://demo.scim-doctor.test:{server.port}/scim/v2"
    assert server.resolve_pin == f"demo.scim-doctor.test:{server.port}:127.0.0.1"
    assert server.http_port is None


def test_write_ca_writes_the_root_the_client_must_trust(server: DemoServer, tmp_path: Path) -> None:
    path = server.write_ca(tmp_path)

    assert path.parent == tmp_path
    assert path.read_bytes() == server.ca_pem
    assert server.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_received_requests_are_recorded_with_scheme_headers_and_body(
    server: DemoServer, client: httpx.Client
) -> None:
    client.post("/Users?probe=1", json={"userName": "recorded@example.com"})

    [request] = server.received
    assert (request.scheme, request.method, request.path) == (
        "https",
        "POST",
        "/scim/v2/Users?probe=1",
    )
    assert request.header("authorization") == f"Bearer {TOKEN}"
    assert all(name == name.lower() for name, _ in request.headers)
    assert b'"recorded@example.com"' in request.body


def test_keep_alive_serves_several_requests_on_one_connection(server: DemoServer) -> None:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", server.port, context=trusting_context(server), timeout=5
    )
    try:
        statuses, local_ports = [], set()
        for _ in range(3):
            connection.request(
                "GET", "/scim/v2/Users", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            assert connection.sock is not None  # http.client drops it when the server closes
            local_ports.add(connection.sock.getsockname()[1])
    finally:
        connection.close()

    assert statuses == [200, 200, 200]
    assert len(local_ports) == 1


def test_a_client_that_never_speaks_does_not_block_others(server: DemoServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=2):
        with scim_client(server) as client:
            started = time.monotonic()
            response = client.get("/Users")
            elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed < 1.0


def test_stop_returns_within_a_second_despite_idle_and_mute_connections() -> None:
    server = DemoServer(TOKEN).start()
    mute = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    client = scim_client(server)
    try:
        assert client.get("/Users").status_code == 200  # leaves a keep-alive connection idle
        started = time.monotonic()
        server.stop()
        elapsed = time.monotonic() - started
    finally:
        client.close()
        mute.close()
        server.stop()

    assert elapsed < 1.0
    assert _demo_threads() == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=0.5).close()


def test_stop_before_start_and_twice_is_harmless() -> None:
    server = DemoServer(TOKEN)
    server.stop()
    server.start()
    server.stop()
    server.stop()

    assert _demo_threads() == []


def test_http_listener_redirects_to_the_same_path_on_https_with_308() -> None:
    with DemoServer(TOKEN, http_listener=True) as server:
        assert server.http_port is not None
        with httpx.Client() as plain:
            response = plain.post(
                f"http://127.0.0.1:{server.http_port}/scim/v2/Users?x=1",
                json={"userName": "cleartext@example.com"},
            )
        received = server.received

    assert response.status_code == 308
    assert response.headers["location"] == f"{server.base_url}/Users?x=1"
    assert [(r.scheme, r.method) for r in received] == [("http", "POST")]


def test_unknown_method_gets_a_scim_error_not_stdlib_html(client: httpx.Client) -> None:
    response = client.request("BREW", "/Users")

    assert response.status_code == 501
    assert response.headers["content-type"] == "application/scim+json"
    assert response.json()["status"] == "501"


def test_unparseable_content_length_is_a_400_scim_error(server: DemoServer) -> None:
    request = b"POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as raw:
        with trusting_context(server).wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(request)
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk

    assert answer.startswith(b"HTTP/1.1 400")
    assert b"application/scim+json" in answer
    assert b'"status":"400"' in answer


def test_an_http_fault_can_replace_one_route_in_a_few_lines() -> None:
    def login_page(request: Request, call_next: Handler) -> Response:
        return Response(200, (("Content-Type", "text/html"),), b"<html>Sign in</html>")

    fault = Fault(
        "login_page",
        "HTML login page",
        "http",
        ("users.not_json",),
        middleware=on_route("GET", "/Users", login_page),
    )
    with DemoServer(TOKEN, fault=fault) as server, scim_client(server) as client:
        users = client.get("/Users")
        groups = client.get("/Groups")

    assert (users.status_code, users.text) == (200, "<html>Sign in</html>")
    assert groups.headers["content-type"] == "application/scim+json"


def test_an_http_fault_can_rewrite_every_answer() -> None:
    def integer_status(request: Request, response: Response) -> Response:
        payload = response.json()
        if response.status >= 400:
            payload["status"] = int(payload["status"])
        return response.with_json(payload)

    fault = Fault(
        "int_status",
        "status as integer",
        "http",
        ("errors.status_not_string",),
        middleware=map_response(integer_status),
    )
    with DemoServer(TOKEN, fault=fault) as server, scim_client(server) as client:
        missing = client.get("/Users/nobody")

    assert missing.json()["status"] == 404
    assert error_response(404, "x").json()["status"] == "404"
