"""The `dns` and `connect` checks against real sockets, a real resolver and real namespaces.

Loopback servers cover refusal, a full accept backlog (SYNs dropped: a timeout), a healthy
listener and proxies; a private network namespace with a fake DNS server covers what the host's
resolver must never be asked to do (stay silent, answer NXDOMAIN or no data), glibc failing with
EAI_SYSTEM (a missing NSS service, no free file descriptor) and an address with no route.
Nothing leaves the machine: `.invalid` names are answered without a query.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from scim_doctor.checks import network
from scim_doctor.checks.base import Outcome
from scim_doctor.core.model import Severity, Status
from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import load_trust
from tests.support import netns
from tests.support.backlog import full_backlog_port
from tests.support.probe_harness import run_probe

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the developer's environment must not change what these tests connect to."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def context(
    url: str,
    *,
    timeout: float = 2.0,
    pins: tuple[ResolvePin, ...] = (),
    proxy: str | None = None,
) -> ProbeContext:
    return ProbeContext(
        target=parse_base_url(url),
        options=Options(timeout=timeout, resolve=pins, proxy=proxy),
        token=None,
        trust=load_trust(),
        deadline_at=time.monotonic() + 30,
    )


class _AnyNumber:
    """Equal to any non-negative duration: timings vary, their presence does not."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (int, float)) and other >= 0

    __hash__ = None  # type: ignore[assignment]


ANY_NUMBER: Any = _AnyNumber()


def codes(outcome: Outcome) -> list[str]:
    return [finding.code for finding in outcome.findings]


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that completes TCP handshakes (the kernel does, without accept)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 (and ::1) that nothing listens on: the kernel answers RST."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def full_backlog() -> Iterator[int]:
    with full_backlog_port() as port:
        yield port


# --- dns, on this machine ------------------------------------------------------------------------


def test_localhost_warns_that_an_idp_cannot_reach_its_loopback_address() -> None:
    ctx = context("https://localhost/scim/v2")

    outcome = asyncio.run(network.run_dns(ctx))

    assert codes(outcome) == ["dns.private_address"]
    assert outcome.findings[0].severity is Severity.WARN
    assert "127.0.0.1 (loopback)" in outcome.findings[0].message
    assert "127.0.0.1" in outcome.facts["addresses"]
    assert outcome.facts["resolver"] == "system (getaddrinfo)"
    assert outcome.facts["pinned"] is False
    assert ctx.shared.addresses == outcome.facts["addresses"]
    assert outcome.timings_ms["dns"] == outcome.facts["time_ms"]


def test_address_pinned_with_resolve_is_used_without_lookup_and_without_warning() -> None:
    pin = ResolvePin("scim.example.test", 443, "127.0.0.1")
    ctx = context("https://scim.example.test/scim/v2", pins=(pin,))

    outcome = asyncio.run(network.run_dns(ctx))

    assert outcome.status is Status.PASS
    assert outcome.findings == []
    assert outcome.facts["pinned"] is True
    assert outcome.facts["addresses"] == ["127.0.0.1"]
    assert "pinned with --resolve" in outcome.facts["not_public_note"]
    assert "127.0.0.1" in outcome.summary
    assert ctx.shared.addresses == ["127.0.0.1"]


def test_private_ip_literal_host_is_not_looked_up_but_still_flagged() -> None:
    ctx = context("https://10.20.30.40/scim/v2")

    outcome = asyncio.run(network.run_dns(ctx))

    assert outcome.facts["literal"] is True
    assert outcome.facts["addresses"] == ["10.20.30.40"]
    assert codes(outcome) == ["dns.private_address"]
    assert "10.20.30.40 (private, RFC 1918)" in outcome.findings[0].message


def test_an_invalid_name_is_diagnosed_as_nonexistent_without_asking_any_resolver() -> None:
    """RFC 6761 §6.4 reserves `.invalid`: the answer is NXDOMAIN, and no query leaves."""
    ctx = context("https://no-such-host.scim-doctor.invalid/scim/v2", timeout=3.0)

    outcome = asyncio.run(network.run_dns(ctx))

    assert codes(outcome) == ["dns.nxdomain"]
    assert "no-such-host.scim-doctor.invalid" in outcome.findings[0].message
    assert "RFC 6761" in outcome.findings[0].message
    assert ctx.shared.addresses == []


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.1.2.3", "private, RFC 1918"),
        ("172.20.0.1", "private, RFC 1918"),
        ("192.168.1.10", "private, RFC 1918"),
        ("100.64.0.7", "carrier-grade NAT, RFC 6598"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "unique-local, RFC 4193"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private, RFC 1918"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_addresses_an_idp_cannot_reach_are_named_by_kind(address: str, kind: str | None) -> None:
    assert network.non_public_kind(address) == kind


# --- connect, on loopback ------------------------------------------------------------------------


def test_closed_port_is_diagnosed_as_refused_with_the_address(closed_port: int) -> None:
    ctx = context(f"https://127.0.0.1:{closed_port}/scim/v2")

    outcome = run_probe(network.run_connect, ctx)

    assert codes(outcome) == ["connect.refused"]
    assert f"127.0.0.1:{closed_port} (ECONNREFUSED: Connection refused)" in (
        outcome.findings[0].message
    )
    assert outcome.facts["attempts"][0]["result"] == "refused"
    assert outcome.facts["connected_address"] is None
    assert ctx.shared.connected_address is None


def test_full_accept_backlog_times_out_within_the_step_timeout(full_backlog: int) -> None:
    ctx = context(f"https://127.0.0.1:{full_backlog}/scim/v2", timeout=0.5)

    started = time.monotonic()
    outcome = run_probe(network.run_connect, ctx)
    elapsed = time.monotonic() - started

    assert codes(outcome) == ["connect.timeout"]
    message = outcome.findings[0].message
    assert re.search(rf"127\.0\.0\.1:{full_backlog} \(no answer within 0\.\d+ s\)", message)
    assert elapsed < 2 * 0.5
    assert outcome.facts["attempts"][0]["result"] == "timeout"


def test_healthy_listener_records_the_connected_address(listener: int) -> None:
    ctx = context(f"https://localhost:{listener}/scim/v2")
    ctx.shared.addresses = ["127.0.0.1"]  # as dns leaves them

    outcome = run_probe(network.run_connect, ctx)

    assert outcome.status is Status.PASS
    assert outcome.facts["connected_address"] == "127.0.0.1"
    assert ctx.shared.connected_address == "127.0.0.1"
    assert outcome.facts["attempts"] == [
        {"address": "127.0.0.1", "port": listener, "result": "connected", "ms": ANY_NUMBER}
    ]
    assert outcome.facts["via_proxy"] is None
    assert outcome.timings_ms["connect"] >= 0


def test_refused_first_address_then_working_second_warns(listener: int) -> None:
    """Broken IPv6 in front of working IPv4: this machine gets through, an IdP may not."""
    ctx = context(f"https://scim.example.test:{listener}/scim/v2")
    ctx.shared.addresses = ["::1", "127.0.0.1"]  # nothing listens on [::1]:port

    outcome = run_probe(network.run_connect, ctx)

    assert outcome.status is Status.WARN
    assert codes(outcome) == ["connect.some_addresses_failed"]
    assert f"[::1]:{listener} (ECONNREFUSED" in outcome.findings[0].message
    assert [a["result"] for a in outcome.facts["attempts"]] == ["refused", "connected"]
    assert outcome.facts["connected_address"] == "127.0.0.1"


def test_proxy_from_the_environment_is_connected_to_instead_and_redacted(
    listener: int, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://proxyuser:pr0xy-pa55word@127.0.0.1:{listener}")
    ctx = context(f"https://127.0.0.1:{closed_port}/scim/v2")

    outcome = run_probe(network.run_connect, ctx)

    assert outcome.status is Status.PASS
    assert outcome.facts["attempts"][0]["port"] == listener
    assert outcome.facts["proxy_source"] == "the HTTPS_PROXY environment variable"
    assert outcome.facts["via_proxy"] == f"http://[REDACTED]@127.0.0.1:{listener}"
    assert "proxy" in outcome.summary
    assert "pr0xy-pa55word" not in json.dumps(outcome.facts) + outcome.summary


def test_no_proxy_bypasses_the_environment_proxy(
    listener: int, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    ctx = context(f"https://127.0.0.1:{listener}/scim/v2")

    outcome = run_probe(network.run_connect, ctx)

    assert outcome.status is Status.PASS
    assert outcome.facts["via_proxy"] is None
    assert outcome.facts["attempts"][0]["port"] == listener


def test_refusing_proxy_option_is_blamed_not_the_target_when_the_proxy_check_did_not_run(
    closed_port: int,
) -> None:
    """With --skip proxy the connect check still connects to the proxy, not to the target."""
    ctx = context("https://scim.example.test/scim/v2", proxy=f"127.0.0.1:{closed_port}")

    outcome = run_probe(network.run_connect, ctx)

    assert codes(outcome) == ["connect.refused"]
    assert f"the proxy http://127.0.0.1:{closed_port}" in outcome.findings[0].message
    assert "--proxy" in outcome.findings[0].remediation
    assert outcome.facts["proxy_source"] == "--proxy"


# --- in a private network namespace --------------------------------------------------------------

SNIPPET = """
import asyncio, contextlib, json, os, resource, socket, sys, time

from scim_doctor.net.context import Options, ProbeContext
from scim_doctor.checks import network
from scim_doctor.net.target import ResolvePin, parse_base_url
from scim_doctor.net.trust import load_trust
from tests.support.fake_dns import FakeDns

spec = json.loads(sys.argv[1])
target = parse_base_url(spec["url"])
pins = tuple(ResolvePin(target.host, target.port, a) for a in spec["pin"])
ctx = ProbeContext(
    target=target,
    options=Options(timeout=spec["timeout"], resolve=pins),
    token=None,
    trust=load_trust(),
    deadline_at=time.monotonic() + 30,
)


@contextlib.contextmanager
def no_free_file_descriptors():
    # RLIMIT_NOFILE lowered to the lowest free descriptor: the next open() gets EMFILE.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest = os.open(os.devnull, os.O_RDONLY)
    os.close(lowest)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def run_probe():
    probe = getattr(network, spec["probe"])
    if not spec["no_free_fds"]:
        return await probe(ctx)
    # An earlier lookup (from /etc/hosts), as in a fleet run, has made glibc read nsswitch.conf
    # and load its services: a first lookup with no descriptor cannot read it (EAI_NONAME).
    # A bytes name, so this one does not load the idna codec for the probe.
    socket.getaddrinfo(b"localhost", 443, type=socket.SOCK_STREAM)
    with no_free_file_descriptors():  # the loop's own descriptors are open already
        return await probe(ctx)


server = FakeDns(spec["dns"], spec["answer"]) if spec["dns"] else contextlib.nullcontext()
with server:
    started = time.monotonic()
    outcome = asyncio.run(run_probe())
    elapsed = time.monotonic() - started
print(json.dumps({
    "codes": [f.code for f in outcome.findings],
    "messages": [f.message for f in outcome.findings],
    "facts": outcome.facts,
    "elapsed": elapsed,
    "queries": server.queries if spec["dns"] else [],
}))
"""


def in_netns(
    probe: str,
    *,
    dns: str | None = None,
    answer: str | None = None,
    timeout: float = 2.0,
    pin: tuple[str, ...] = (),
    url: str = "https://scim.example.test/scim/v2",
    hosts_services: str = netns.HOSTS_SERVICES,
    hosts: str = netns.HOSTS,
    no_free_fds: bool = False,
) -> dict[str, Any]:
    """Run one probe in a fresh network namespace whose only resolver is a FakeDns in `dns`,
    with `hosts_services` on the nsswitch.conf `hosts:` line, optionally out of descriptors."""
    spec = {
        "probe": probe,
        "dns": dns,
        "answer": answer,
        "timeout": timeout,
        "pin": pin,
        "no_free_fds": no_free_fds,
    }
    completed = netns.run_python(
        SNIPPET, json.dumps({**spec, "url": url}), hosts_services=hosts_services, hosts=hosts
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def namespace() -> None:
    netns.require()


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_silent_resolver_is_a_dns_timeout_within_the_step_timeout() -> None:
    """The bound also proves nothing waits for the stuck lookup: glibc gives up after 1 s at
    the earliest, and asyncio.run() would wait that long for a default-executor thread."""
    result = in_netns("run_dns", dns="silent", timeout=0.5)

    assert result["codes"] == ["dns.timeout"]
    assert "scim.example.test within 0.5 s" in result["messages"][0]
    assert result["elapsed"] < 2 * 0.5
    assert ("scim.example.test", 1) in [tuple(q) for q in result["queries"]]


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_resolver_giving_up_on_a_silent_server_is_a_dns_timeout_in_its_words() -> None:
    """resolv.conf says `timeout:1 attempts:1`: glibc gives up (EAI_AGAIN) before our 3 s."""
    result = in_netns("run_dns", dns="silent", timeout=3.0)

    assert result["codes"] == ["dns.timeout"]
    assert result["facts"]["error_code"] == "EAI_AGAIN"
    assert "the system resolver gave up on scim.example.test" in result["messages"][0]
    assert result["elapsed"] < 2.5


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_name_without_address_records_is_no_address() -> None:
    result = in_netns("run_dns", dns="nodata")

    assert result["codes"] == ["dns.no_address"]
    assert "scim.example.test exists but has no A or AAAA record" in result["messages"][0]
    assert result["facts"]["error_code"] == "EAI_NODATA"


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_nxdomain_answer_is_nxdomain() -> None:
    result = in_netns("run_dns", dns="nxdomain")

    assert result["codes"] == ["dns.nxdomain"]
    assert "scim.example.test does not exist" in result["messages"][0]


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_missing_hosts_service_is_a_resolution_failure_naming_the_nsswitch_line() -> None:
    """Like an nsswitch.conf copied from a distribution whose modules (myhostname, mdns) are
    not installed here: the DNS server says NXDOMAIN, glibc goes on to the missing service and
    ends with EAI_SYSTEM and errno EBUSY, which Python raises as a plain OSError."""
    result = in_netns("run_dns", dns="nxdomain", hosts_services="files dns scim_doctor_missing")

    assert result["codes"] == ["dns.resolution_failed"]
    message = result["messages"][0]
    assert message.startswith("resolving scim.example.test failed: ")
    assert 'EAI_SYSTEM ("System error"), errno EBUSY: Device or resource busy' in message
    assert '/etc/nsswitch.conf says "hosts: files dns scim_doctor_missing"' in message
    assert result["facts"]["error_code"] == "EAI_SYSTEM"
    assert result["facts"]["error"] == "EBUSY: Device or resource busy"
    assert ("scim.example.test", 1) in [tuple(q) for q in result["queries"]]


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_a_process_out_of_file_descriptors_is_a_resolution_failure_naming_emfile() -> None:
    """What a fleet run with too low a `ulimit -n` meets: glibc cannot open a socket to ask
    the DNS server (so nothing is sent) and returns EAI_SYSTEM with errno EMFILE. Python's
    own OSError (its idna codec imported on first use, naming encodings/idna.py) must not
    stand in for glibc's: the probe looks the codec up at import."""
    result = in_netns("run_dns", no_free_fds=True)

    assert result["codes"] == ["dns.resolution_failed"]
    message = result["messages"][0]
    assert "EAI_SYSTEM" in message
    assert "errno EMFILE: Too many open files" in message
    assert "nsswitch.conf" not in message, "the hosts line does not explain EMFILE"
    assert result["facts"]["error_code"] == "EAI_SYSTEM"
    assert result["facts"]["error"] == "EMFILE: Too many open files"


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_private_address_in_a_dns_answer_is_flagged() -> None:
    result = in_netns("run_dns", dns="answer", answer="10.1.2.3")

    assert result["codes"] == ["dns.private_address"]
    assert "scim.example.test resolves to 10.1.2.3 (private, RFC 1918)" in result["messages"][0]
    assert result["facts"]["addresses"] == ["10.1.2.3"]
    assert result["facts"]["families"] == ["IPv4"]


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_a_name_with_both_families_lists_its_a_and_aaaa_addresses_apart() -> None:
    """Given /etc/hosts with an IPv4 and an IPv6 address for the name, When the dns check runs,
    Then its facts and summary list the A and the AAAA addresses apart."""
    hosts = f"{netns.HOSTS}1.1.1.1 scim.example.test\n2606:4700::1111 scim.example.test\n"
    result = in_netns("run_dns", hosts=hosts)

    assert result["codes"] == []
    facts = result["facts"]
    assert sorted(facts["addresses"]) == ["1.1.1.1", "2606:4700::1111"]  # in the resolver's order
    assert (facts["ipv4"], facts["ipv6"]) == (["1.1.1.1"], ["2606:4700::1111"])
    assert facts["family_note"] is None


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
@pytest.mark.parametrize(
    ("address", "note"),
    [
        ("1.1.1.1", "IPv4 only: no AAAA (IPv6) address"),
        ("2606:4700::1111", "IPv6 only: no A (IPv4) address"),
    ],
)
def test_a_name_with_one_family_says_so_as_a_fact_not_a_finding(address: str, note: str) -> None:
    """Given a name with only an A (or only an AAAA) address, Then the dns facts say which
    family is missing and nothing is found: no identity provider requires IPv6."""
    result = in_netns("run_dns", hosts=f"{netns.HOSTS}{address} scim.example.test\n")

    assert result["codes"] == []
    assert result["facts"]["family_note"] == note
    missing = "ipv6" if "." in address else "ipv4"
    assert result["facts"][missing] == []


@pytest.mark.netns
@pytest.mark.usefixtures("namespace")
def test_address_without_a_route_is_unreachable_at_once() -> None:
    """Only `lo` exists in the namespace: 192.0.2.1 (TEST-NET-1) has no route, no packet leaves."""
    result = in_netns("run_connect", pin=("192.0.2.1",), timeout=2.0)

    assert result["codes"] == ["connect.unreachable"]
    assert "192.0.2.1:443 (ENETUNREACH" in result["messages"][0]
    assert result["facts"]["attempts"][0]["result"] == "unreachable"
    assert result["elapsed"] < 0.5


def test_an_unscoped_link_local_address_is_a_connect_failure_naming_the_error() -> None:
    """fe80::/10 needs an interface (scope id): connect() fails locally, no packet is sent."""
    pin = ResolvePin("scim.example.test", 443, "fe80::1")
    ctx = context("https://scim.example.test/scim/v2", pins=(pin,), timeout=1.0)

    outcome = run_probe(network.run_connect, ctx)

    assert codes(outcome) == ["connect.failed"]
    assert "fe80::1" in outcome.findings[0].message


_NO_THREAD = """
import asyncio, os, resource
from scim_doctor.checks import network

async def main() -> None:
    # Address space capped just above what the process uses: a thread's 8 MiB stack no longer
    # fits, so starting the resolver thread fails as it does when a process is out of threads.
    pages = int(open("/proc/self/statm").read().split()[0])
    used = pages * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + 4 * 2**20, resource.RLIM_INFINITY))
    try:
        await network.resolve("localhost", 443, 2.0)
    except network.ResolveError as exc:
        print(exc.code, "|", exc.message)
    else:
        print("resolved")

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_a_process_that_cannot_start_the_resolver_thread_gets_a_resolution_failure() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NO_THREAD], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    code, message = done.stdout.strip().split(" | ")
    assert code == "dns.resolution_failed"
    assert "could not start the thread that asks the system resolver" in message
