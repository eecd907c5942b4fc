"""Client certificates required by real nginx (issue 20, part 1): `ssl_verify_client on`
completes the TLS handshake without a certificate and answers every request with a 400 page,
"No required SSL certificate was sent" (or "The SSL certificate error" for one it refuses).
The CLI runs in a subprocess against nginx in front of the demo server.

Each test: Given the nginx front end, When `scim-doctor check` runs with or without --cert, Then
the JSON names the code (not a generic 400), severity, check, provider verdicts and exit code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_doctor.demo.pki import CertificateAuthority
from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict
from tests.support import components
from tests.support.nginx import Route, nginx, nginx_binary
from tests.test_client_certs import TOKEN, Run, check

HOST = "demo.scim-doctor.test"


@pytest.fixture
def backend() -> Iterator[DemoServer]:
    with DemoServer(TOKEN) as server:
        yield server


def _through_nginx(backend: DemoServer, tmp_path: Path, *cli: str) -> Run:
    if nginx_binary() is None:
        components.missing("nginx is not installed (Debian package nginx)")
    ca = backend._ca
    directives = (
        "        ssl_verify_client on;\n"
        f"        ssl_client_certificate {tmp_path}/nginx/conf/clients-ca.pem;\n"
    )
    route = Route("/", f"https://127.0.0.1:{backend.port}")
    with nginx(
        tmp_path / "nginx",
        HOST,
        ca.issue([HOST]),
        [route],
        tls_directives=directives,
        files={"clients-ca.pem": ca.cert_pem},
    ) as front:
        url = f"https://{HOST}:{front.port}/scim/v2"
        return check(
            backend, tmp_path, *cli, base_url=url, resolve=f"{HOST}:{front.port}:127.0.0.1"
        )


def test_nginx_asking_for_a_client_certificate_with_a_400_page_is_client_cert_required(
    backend: DemoServer, tmp_path: Path
) -> None:
    run = _through_nginx(backend, tmp_path)
    found = run.findings()
    assert found["tls.client_cert_required"] == ("fail", "auth")
    assert "http.unexpected_status" not in found
    assert run.check("tls")["status"] == "pass"  # the handshake itself completed
    message = run.check("auth")["findings"][0]["message"]
    assert "'400 No required SSL certificate was sent' over a completed TLS handshake" in message
    assert set(run.verdicts().values()) == {"will_fail"}
    assert_one_verdict(run.report)
    assert run.code == 1


def test_a_client_certificate_nginx_refuses_with_a_400_page_is_client_cert_rejected(
    backend: DemoServer, tmp_path: Path
) -> None:
    stranger = CertificateAuthority("Another Client CA")
    issued = stranger.issue_client("scim-doctor stranger client")
    cert, key = tmp_path / "stranger.pem", tmp_path / "stranger-key.pem"
    cert.write_bytes(issued.chain_pem())
    key.write_bytes(issued.key_pem)
    run = _through_nginx(backend, tmp_path, "--cert", str(cert), "--key", str(key))
    finding = next(
        f for f in run.check("auth")["findings"] if f["code"] == "tls.client_cert_rejected"
    )
    assert finding["severity"] == "fail" and finding["scope"] == "this_machine"
    assert "'400 The SSL certificate error'" in finding["message"]
    assert set(run.verdicts().values()) == {"not_judged_here"}
    assert_one_verdict(run.report)
    assert run.code == 1


def test_a_client_certificate_nginx_accepts_lets_the_token_through(
    backend: DemoServer, tmp_path: Path
) -> None:
    """Given the valid certificate, Then the token is checked, and the handshake that completes
    without it does not hide that nginx requires it: one token-less GET without the certificate
    gets the 400 page, so tls.client_cert_accepted (info) and the providers, which cannot
    present one, are unknown rather than 'will work'."""
    cert, key = backend.write_client_cert(tmp_path)
    run = _through_nginx(backend, tmp_path, "--cert", str(cert), "--key", str(key))
    assert run.check("auth")["status"] == "pass"
    found = run.findings()
    assert not {c for c in found if c.startswith("tls.client_cert_re")}
    assert found["tls.client_cert_accepted"] == ("info", "tls")
    tls = run.check("tls")
    assert tls["facts"]["client_cert_required"] is True
    message = tls["findings"][0]["message"]
    assert "(without it, a request is answered 400 '400 No required SSL certificate" in message
    assert set(run.verdicts().values()) == {"unknown"}
    assert_one_verdict(run.report)
    assert run.code == 0
