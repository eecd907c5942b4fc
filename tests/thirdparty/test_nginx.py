"""The nginx in front of the third-party servers is the real one, configured as admins write it,
and every process it starts is gone when its fixture ends."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest

from scim_doctor.demo.pki import CertificateAuthority
from tests.support import components
from tests.support.nginx import Route, config, nginx, nginx_binary
from tests.thirdparty.conftest import Reports


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie left to a parent that is not reaping it is dead, too.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


def test_the_doctor_reaches_each_server_through_nginx_over_tls(reports: Reports) -> None:
    for key in ("scim2-server", "django-scim2"):
        exchanges = reports.check(key).check("users")["exchanges"]
        servers = {
            value
            for exchange in exchanges
            for name, value in exchange["response_headers"]
            if name.lower() == "server"
        }
        assert servers == {"nginx"}, (key, servers)


def test_nginxs_plain_http_port_redirects_to_the_https_base_url(reports: Reports) -> None:
    server = reports.server("SCIMMY")
    with httpx.Client(trust_env=False, timeout=5) as client:
        answer = client.get(f"http://127.0.0.1:{server.http_port}{server.base_path}/Users")
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://127.0.0.1:{server.port}/scim/v2/Users"


def test_the_nginx_configuration_is_an_ordinary_reverse_proxy_on_loopback(tmp_path: Path) -> None:
    text = config(tmp_path, (8443, 8080), "x.test", [Route("/scim/v2/", "http://127.0.0.1:9")])
    assert "listen 127.0.0.1:8443 ssl;" in text
    assert "listen 127.0.0.1:8080;" in text
    assert "location /scim/v2/ {\n            proxy_pass http://127.0.0.1:9;" in text
    for header in ("Host $http_host", "X-Forwarded-Proto $scheme", "X-Forwarded-For"):
        assert f"proxy_set_header {header}" in text


def test_nginx_is_stopped_with_all_its_workers_when_its_context_ends(tmp_path: Path) -> None:
    if nginx_binary() is None:
        components.missing("nginx is not installed (apt-get install nginx)")
    issued = CertificateAuthority("nginx test CA").issue(["x.test"])
    with nginx(tmp_path, "x.test", issued, [Route("/", "http://127.0.0.1:9")]) as front:
        master = int((front.prefix / "nginx.pid").read_text())
        assert _listening(front.port) and _listening(front.http_port)
        assert _alive(master)
    assert not _alive(master)
    assert not _listening(front.port) and not _listening(front.http_port)


def test_nginx_that_cannot_start_says_why(tmp_path: Path) -> None:
    if nginx_binary() is None:
        components.missing("nginx is not installed (apt-get install nginx)")
    issued = CertificateAuthority("nginx test CA").issue(["x.test"])
    with pytest.raises(RuntimeError, match="nginx exited"):
        with nginx(tmp_path, "x.test", issued, [Route("no-slash", "not a url")]):
            pass
