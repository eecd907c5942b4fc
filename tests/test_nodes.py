"""Every node behind the name (issue 20, part 3): the CLI in a subprocess against two demo
servers on the same port of two loopback addresses, pinned with curl's
`--resolve HOST:PORT:ADDR,ADDR`.

Given two nodes (one broken), When `scim-doctor check` runs, Then the JSON names the node that
differs by its address, with code, severity, check, provider verdicts and exit code.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scim_doctor.demo.fault_kit import Certificates, Fault
from scim_doctor.demo.pki import Issued
from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict
from tests.support import netns
from tests.test_client_certs import TOKEN, Run, check


def _loopback_alias_works() -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.2", 0))
        except OSError:
            return False
    return True


@pytest.fixture
def node_a() -> Iterator[DemoServer]:
    if not _loopback_alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")  # Linux binds all of 127/8
    with DemoServer(TOKEN) as server:
        yield server


def _pin(server: DemoServer, *addresses: str) -> str:
    return f"{server.hostname}:{server.port}:{','.join(addresses)}"


def test_a_second_node_with_an_expired_certificate_is_named_by_its_address(
    node_a: DemoServer, tmp_path: Path
) -> None:
    with DemoServer(
        TOKEN, bind="127.0.0.2", port=node_a.port, ca=node_a._ca, fault="expired_cert"
    ) as node_b:
        run = check(node_a, tmp_path, resolve=_pin(node_a, "127.0.0.1", "127.0.0.2"))
        assert node_b.received == []  # the broken node got handshakes only, no token
    assert run.findings() == {"tls.node_differs": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "127.0.0.2 (certificate has expired)" in message
    nodes = run.check("tls")["facts"]["nodes"]
    assert [(n["address"], n["verified"]) for n in nodes] == [
        ("127.0.0.1", True),
        ("127.0.0.2", False),
    ]
    assert run.check("dns")["facts"]["addresses"] == ["127.0.0.1", "127.0.0.2"]
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1


def test_a_second_node_that_refuses_connections_is_named_after_the_first_connected(
    node_a: DemoServer, tmp_path: Path
) -> None:
    run = check(node_a, tmp_path, resolve=_pin(node_a, "127.0.0.1", "127.0.0.2"))
    found = run.findings()
    assert found["connect.some_addresses_failed"][1] == "connect"
    message = run.check("connect")["findings"][0]["message"]
    assert "127.0.0.2" in message and "a share of the identity provider's calls fail" in message
    assert "tls.node_differs" not in found


def test_two_healthy_nodes_pass_and_the_token_reaches_only_the_pinned_nodes(
    node_a: DemoServer, tmp_path: Path
) -> None:
    """Given nodes on 127.0.0.1 and 127.0.0.2 pinned, and a third SCIM server on 127.0.0.3 at
    the same port that the name does not resolve to, Then the run passes, each pinned node gets
    one authenticated GET /Users?count=1 (the second exactly that one), and the token goes to no
    address but the pinned ones."""
    with (
        DemoServer(TOKEN, bind="127.0.0.2", port=node_a.port, ca=node_a._ca) as node_b,
        DemoServer(TOKEN, bind="127.0.0.3", port=node_a.port, ca=node_a._ca) as stranger,
    ):
        run = check(node_a, tmp_path, resolve=_pin(node_a, "127.0.0.1", "127.0.0.2"))
        received_b, received_stranger = node_b.received, stranger.received
        received_a = node_a.received
    assert run.code == 0, run.findings()
    assert not any(severity in ("warn", "fail") for severity, _ in run.findings().values())
    assert [n["verified"] for n in run.check("tls")["facts"]["nodes"]] == [True, True]
    assert received_stranger == []
    bearer = f"Bearer {TOKEN}"
    assert any(r.header("authorization") == bearer for r in received_a)
    assert [r.path for r in received_b if r.header("authorization") == bearer] == [
        "/scim/v2/Users?count=1"
    ]
    assert [n["status"] for n in run.check("auth")["facts"]["nodes"]] == [200, 200]


def test_resolve_takes_ipv6_literals_in_a_list(tmp_path: Path) -> None:
    """Given an IPv6-only server on ::1, When pinned as curl writes it ([::1]), Then it passes."""
    try:
        server = DemoServer(TOKEN, bind="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        run = check(server, tmp_path, resolve=f"{server.hostname}:{server.port}:[::1]")
    finally:
        server.stop()
    assert run.code == 0, run.findings()
    assert run.check("connect")["facts"]["connected_address"] == "::1"


def test_a_second_node_that_refuses_the_token_is_named_by_its_address(
    node_a: DemoServer, tmp_path: Path
) -> None:
    """Given a second node with the same certificate whose API knows another token, When both
    are pinned, Then auth.node_differs names 127.0.0.2 and its 401, every provider fails."""
    with DemoServer("another-tenants-token", bind="127.0.0.2", port=node_a.port, ca=node_a._ca):
        run = check(node_a, tmp_path, resolve=_pin(node_a, "127.0.0.1", "127.0.0.2"))
    assert run.findings()["auth.node_differs"] == ("fail", "auth")
    message = next(
        f["message"] for f in run.check("auth")["findings"] if f["code"] == "auth.node_differs"
    )
    assert "answered 200 at 127.0.0.1, but 127.0.0.2 answered 401" in message
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1


# --- the demo server's second node (issue 20, parts 3 and 5) -----------------------------------


def test_the_demo_fault_node_expired_cert_pins_both_nodes_and_names_the_broken_one(
    tmp_path: Path,
) -> None:
    """Given the demo server with a second node on 127.0.0.2 serving an expired certificate,
    When checked through the demo's own pin (both addresses), Then tls.node_differs names it."""
    if not _loopback_alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")
    with DemoServer(TOKEN, fault="node_expired_cert") as server:
        assert server.resolve_pin.endswith(":127.0.0.1,127.0.0.2")
        run = check(server, tmp_path)
    assert run.findings() == {"tls.node_differs": ("fail", "tls")}
    assert "127.0.0.2 (certificate has expired)" in run.check("tls")["findings"][0]["message"]
    assert run.check("dns")["facts"]["addresses"] == ["127.0.0.1", "127.0.0.2"]
    assert set(run.verdicts().values()) == {"will_fail"}
    assert_one_verdict(run.report)
    assert run.code == 1


def test_a_node_whose_valid_certificate_expires_first_drives_the_expiry_warning(
    tmp_path: Path,
) -> None:
    """Given two nodes, the second serving a valid certificate that expires in 5 days (the
    first's has 90), Then tls.cert_expires_soon names the second node, days_to_expiry is its,
    and the different certificate is an info; no provider fails."""
    if not _loopback_alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")
    with DemoServer(TOKEN, fault="node_expires_soon") as server:
        run = check(server, tmp_path)
    assert run.findings() == {
        "tls.cert_expires_soon": ("warn", "tls"),
        "tls.node_cert_differs": ("info", "tls"),
    }
    tls = run.check("tls")
    soon = next(f for f in tls["findings"] if f["code"] == "tls.cert_expires_soon")
    assert soon["message"].startswith("the certificate served by 127.0.0.2 (")
    assert "the earliest expiry behind the name decides" in soon["message"]
    assert tls["facts"]["days_to_expiry"] <= 5
    assert tls["facts"]["days_to_expiry_address"] == "127.0.0.2"
    assert "will_fail" not in run.verdicts().values()
    assert_one_verdict(run.report)
    assert run.code == 0


def test_two_nodes_with_different_valid_certificates_are_an_info(tmp_path: Path) -> None:
    """Given two nodes serving two valid certificates (a renewal on one node), Then
    tls.node_cert_differs (info) names both, the earlier expiry stays the main node's and the
    run passes."""
    if not _loopback_alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")
    with DemoServer(TOKEN, fault="node_other_cert") as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.node_cert_differs": ("info", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "1 of 2 addresses of demo.scim-doctor.test serve another valid certificate" in message
    assert "127.0.0.2 ('CN=demo.scim-doctor.test'" in message
    assert "days_to_expiry_address" not in run.check("tls")["facts"]
    assert run.report["summary"]["status"] == "pass"
    assert_one_verdict(run.report)
    assert run.code == 0


# --- protocol differences between nodes (issue 20, part 3) -------------------------------------


def _two_nodes(name: str, second: Callable[[Issued], ssl.SSLContext]) -> Fault:
    """A fault whose two nodes serve one certificate, the second with the context `second`
    builds from it: they differ in protocol only."""
    issued: dict[str, Issued] = {}

    def one(certs: Certificates) -> Issued:
        return issued.setdefault("cert", certs.ca.issue(certs.names))

    return Fault(
        name,
        "two nodes, one certificate, another protocol on the second",
        "tls",
        (),
        tls=lambda certs: one(certs).server_context(minimum=ssl.TLSVersion.TLSv1_2),
        node=lambda certs: second(one(certs)),
    )


def _nodes_run(fault: str | Fault, tmp_path: Path) -> Run:
    if not _loopback_alias_works():
        pytest.skip("127.0.0.2 cannot be bound here")
    with DemoServer(TOKEN, fault=fault) as server:
        return check(server, tmp_path, resolve=_pin(server, "127.0.0.1", "127.0.0.2"))


def test_a_node_capped_at_tls12_beside_one_on_tls13_is_an_info_naming_its_address(
    tmp_path: Path,
) -> None:
    """Given two ssl listeners on 127.0.0.1 and 127.0.0.2 at one port serving one certificate,
    the second capped at TLS 1.2 (maximum_version; the demo fault node_tls12_only), When
    checked through --resolve HOST:PORT:127.0.0.1,127.0.0.2, Then tls.node_protocol_differs
    (info) names 127.0.0.2 and its TLSv1.2, no provider fails and the run passes."""
    run = _nodes_run("node_tls12_only", tmp_path)
    assert run.findings() == {"tls.node_protocol_differs": ("info", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "than 127.0.0.1 (TLSv1.3, " in message
    assert "127.0.0.2 (TLSv1.2, " in message
    nodes = run.check("tls")["facts"]["nodes"]
    assert [(n["address"], n["protocol"]) for n in nodes] == [
        ("127.0.0.1", "TLSv1.3"),
        ("127.0.0.2", "TLSv1.2"),
    ]
    assert len({n["sha256"] for n in nodes}) == 1  # the protocol differs, not the certificate
    assert "will_fail" not in run.verdicts().values()
    assert run.report["summary"]["status"] == "pass"
    assert_one_verdict(run.report)
    assert run.code == 0


def test_a_node_speaking_only_tls10_fails_every_provider_naming_its_address(
    tmp_path: Path,
) -> None:
    """Given the same two listeners, the second speaking TLS 1.0 at most, Then the handshake
    with it fails (every provider needs TLS 1.2), tls.node_differs (fail) names 127.0.0.2 and
    what it speaks, every provider will fail and the exit code is 1."""
    fault = _two_nodes(
        "node_tls10_only", lambda cert: cert.server_context(maximum=ssl.TLSVersion.TLSv1)
    )
    run = _nodes_run(fault, tmp_path)
    assert run.findings() == {"tls.node_differs": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "127.0.0.2 (refused TLS 1.2 and 1.3 (" in message
    assert "speaks only TLSv1)" in message
    node = run.check("tls")["facts"]["nodes"][1]
    assert (node["address"], node["verified"], node["protocol"]) == ("127.0.0.2", False, "TLSv1")
    assert set(run.verdicts().values()) == {"will_fail"}
    assert_one_verdict(run.report)
    assert run.code == 1


def test_a_node_negotiating_another_alpn_protocol_is_an_info_naming_it(tmp_path: Path) -> None:
    """Given two nodes on one certificate and TLS 1.3, the second answering ALPN with http/1.1
    where the first answers none, Then tls.node_protocol_differs (info) names 127.0.0.2's
    ALPN, and the run passes."""

    def http11(cert: Issued) -> ssl.SSLContext:
        context = cert.server_context(minimum=ssl.TLSVersion.TLSv1_2)
        context.set_alpn_protocols(["http/1.1"])
        return context

    run = _nodes_run(_two_nodes("node_alpn", http11), tmp_path)
    assert run.findings() == {"tls.node_protocol_differs": ("info", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert "127.0.0.1 (TLSv1.3, " in message and "ALPN none)" in message
    assert "127.0.0.2 (TLSv1.3, " in message and "ALPN http/1.1)" in message
    assert_one_verdict(run.report)
    assert run.code == 0


# --- an IPv6-only name through the system resolver (issue 20, part 3) ---------------------------

_IPV6_ONLY = """
import json, os, subprocess, sys, tempfile
from pathlib import Path

from scim_doctor.demo.server import DemoServer

token = sys.argv[1]
try:
    server = DemoServer(token, bind="::1").start()
except OSError as exc:
    print(json.dumps({"skip": f"no IPv6 loopback in the namespace: {exc}"}))
    sys.exit(0)
try:
    with tempfile.TemporaryDirectory() as tmp:
        ca = server.write_ca(Path(tmp))
        argv = [sys.executable, "-m", "scim_doctor", "check", server.base_url, "--cacert", str(ca)]
        argv += ["--reach", "private", "--timeout", "3", "--format", "json"]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "SCIM_TOKEN": token},
        )
finally:
    server.stop()
print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}))
"""


@pytest.mark.netns
def test_an_ipv6_only_name_resolved_by_the_system_resolver_passes() -> None:
    """Given a private network and mount namespace whose /etc/hosts gives the demo's name only
    ::1 (no A record) and a server listening on ::1 only, When `scim-doctor check` runs without
    --resolve (the system resolver answers, as on a host with an AAAA record only), Then it
    connects to [::1], the dns facts say IPv6 only, and nothing is a warning or a failure."""
    netns.require()
    hosts = f"{netns.HOSTS}::1 demo.scim-doctor.test\n"
    done = netns.run_python(_IPV6_ONLY, TOKEN, hosts=hosts, timeout=90)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    assert "Traceback" not in result["stderr"], result["stderr"]
    assert TOKEN not in result["stdout"] + result["stderr"]
    report = json.loads(result["stdout"])
    run = Run(result["code"], report, result["stderr"])
    dns = run.check("dns")["facts"]
    assert dns["resolver"] == "system (getaddrinfo)" and dns["pinned"] is False
    assert (dns["addresses"], dns["ipv4"], dns["ipv6"]) == (["::1"], [], ["::1"])
    assert dns["family_note"] == "IPv6 only: no A (IPv4) address"
    assert run.check("connect")["facts"]["connected_address"] == "::1"
    assert run.check("connect")["summary"].startswith("connected to [::1]:")
    assert not any(severity in ("warn", "fail") for severity, _ in run.findings().values())
    assert run.report["summary"]["status"] == "pass"
    assert_one_verdict(run.report)
    assert run.code == 0
