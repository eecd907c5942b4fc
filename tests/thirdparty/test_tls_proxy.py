"""The TLS proxy in front of the third-party servers relays faithfully and says what the client
used: otherwise a finding could be the proxy's doing, not the server's."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scim_doctor.demo.pki import CertificateAuthority
from tests.support.tls_proxy import TlsProxy

HOST = "echo.thirdparty.test"


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the request's headers and body, as JSON."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        payload = json.dumps({"headers": dict(self.headers.items()), "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Silent."""


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[httpx.Client, TlsProxy]]:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    serving = threading.Thread(target=upstream.serve_forever, daemon=True)
    serving.start()
    authority = CertificateAuthority("proxy test CA")
    cacert = authority.write_root_pem(tmp_path)
    context = authority.issue([HOST]).server_context()
    try:
        with TlsProxy(context, ("127.0.0.1", upstream.server_address[1])) as proxy:
            transport = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=cacert))
            with httpx.Client(transport=transport, trust_env=False, timeout=5) as client:
                # Connect to 127.0.0.1 while the URL (SNI, Host, certificate) names HOST.
                client.headers["Host"] = f"{HOST}:{proxy.port}"
                yield client, proxy
    finally:
        upstream.shutdown()
        upstream.server_close()
        serving.join(2)


def test_proxy_forwards_body_and_replaces_forwarded_headers_the_client_made_up(
    proxied: tuple[httpx.Client, TlsProxy],
) -> None:
    client, proxy = proxied
    response = client.post(
        f"https://127.0.0.1:{proxy.port}/v2/Users",
        content=b'{"userName": "ada"}',
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
        extensions={"sni_hostname": HOST},
    )
    echoed = response.json()
    assert response.status_code == 200
    assert echoed["body"] == '{"userName": "ada"}'
    headers = {name.lower(): value for name, value in echoed["headers"].items()}
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == f"{HOST}:{proxy.port}"
    assert headers["x-forwarded-port"] == str(proxy.port)
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["connection"] == "close"
