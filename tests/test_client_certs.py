"""Client certificates end to end (issue 20, part 1): the CLI in a subprocess against the demo
server with a real TLS listener that requires a client certificate from the demo CA.

Each test: Given a server (mutual TLS over TLS 1.3 or 1.2, or none), When `scim-doctor check`
runs with or without --cert/--key, Then the JSON names the code, its severity and check, the
provider verdicts, and the exit code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.demo.pki import CertificateAuthority
from scim_doctor.demo.server import DemoServer
from tests.support import components

TOKEN = "canary-mtls-5e1f0c9a7b3d2846"


def encrypted_key(key: Path, passphrase: bytes) -> bytes:
    """The PEM private key in `key`, encrypted with `passphrase` (PKCS #8)."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(key.read_bytes(), None)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


@dataclass
class Run:
    code: int
    report: dict[str, Any]
    stderr: str

    def findings(self) -> dict[str, tuple[str, str]]:
        """code -> (severity, check id)"""
        return {
            f["code"]: (f["severity"], c["id"])
            for c in self.report["checks"]
            for f in c["findings"]
        }

    def verdicts(self) -> dict[str, str]:
        return {v["idp"]: v["verdict"] for v in self.report["idp_verdicts"]}

    def check(self, check_id: str) -> dict[str, Any]:
        return next(c for c in self.report["checks"] if c["id"] == check_id)


def check(
    server: DemoServer,
    tmp: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    base_url: str | None = None,
    resolve: str | None = None,
) -> Run:
    ca = server.write_ca(tmp)
    url = base_url or server.base_url
    argv = [sys.executable, "-m", "scim_doctor", "check", url, "--cacert", str(ca)]
    argv += ["--resolve", resolve or server.resolve_pin, "--timeout", "3", "--format", "json"]
    argv += extra
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SCIM_TOKEN": TOKEN, **(env or {})},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return Run(done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr)


@pytest.mark.parametrize("fault", ["client_cert_required", "client_cert_required_tls12"])
def test_a_server_requiring_a_client_certificate_is_named_and_fails_every_provider(
    tmp_path: Path, fault: str
) -> None:
    """Given mutual TLS (TLS 1.3: the alert on the first read; TLS 1.2: a failed handshake
    after CertificateRequest), When checked without --cert, Then tls.client_cert_required."""
    with DemoServer(TOKEN, fault=fault) as server:
        run = check(server, tmp_path)
    assert run.findings()["tls.client_cert_required"] == ("fail", "tls")
    assert run.check("tls")["facts"]["client_cert_requested"] is True
    assert run.check("tls")["facts"]["client_cert_ca_names"] == []  # Python's ssl names none
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1
    if fault == "client_cert_required":
        assert run.check("tls")["facts"]["alert"] == "TLSV13_ALERT_CERTIFICATE_REQUIRED"


def test_a_valid_client_certificate_gives_a_healthy_run_with_no_warning(tmp_path: Path) -> None:
    """Given mutual TLS, When --cert/--key present a valid certificate from the accepted CA,
    Then no warn or fail, an info that the server requires it, providers unknown on it."""
    with DemoServer(TOKEN, fault="client_cert_required") as server:
        cert, key = server.write_client_cert(tmp_path)
        run = check(server, tmp_path, "--cert", str(cert), "--key", str(key))
    found = run.findings()
    assert found["tls.client_cert_accepted"] == ("info", "tls")
    assert all(severity == "info" for severity, _ in found.values()), found
    assert run.report["summary"]["status"] == "pass"
    assert run.code == 0
    assert run.verdicts()["entra"] == "unknown"
    assert "will_fail" not in run.verdicts().values()


def test_a_client_certificate_with_the_key_in_the_cert_file_and_a_passphrase_from_a_file(
    tmp_path: Path,
) -> None:
    """Given the key encrypted in the --cert file, When its passphrase comes from
    --key-passphrase-file, Then the certificate is presented and accepted."""
    with DemoServer(TOKEN, fault="client_cert_required") as server:
        cert, key = server.write_client_cert(tmp_path)
        both = tmp_path / "both.pem"
        both.write_bytes(cert.read_bytes() + encrypted_key(key, b"s3cret-phrase"))
        phrase = tmp_path / "phrase"
        phrase.write_text("s3cret-phrase\n")
        run = check(server, tmp_path, "--cert", str(both), "--key-passphrase-file", str(phrase))
        env_run = check(
            server,
            tmp_path,
            "--cert",
            str(both),
            "--key-passphrase-env",
            "MTLS_PASS",
            env={"MTLS_PASS": "s3cret-phrase"},
        )
    assert run.code == 0 and env_run.code == 0, run.stderr + env_run.stderr
    assert "tls.client_cert_accepted" in run.findings()
    assert "s3cret-phrase" not in json.dumps(run.report) + json.dumps(env_run.report)


def test_a_wrong_passphrase_is_an_input_error(tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        cert, key = server.write_client_cert(tmp_path)
        key.write_bytes(encrypted_key(key, b"right"))
        run = check(
            server,
            tmp_path,
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--key-passphrase-env",
            "MTLS_PASS",
            env={"MTLS_PASS": "not-the-pass-7319"},
        )
    assert run.code == 2
    assert "passphrase is wrong" in run.stderr and "7319" not in run.stderr


def test_an_expired_client_certificate_is_named_and_its_refusal_too(tmp_path: Path) -> None:
    """Given mutual TLS, When the presented certificate expired, Then tls.client_cert_expired
    and tls.client_cert_rejected (this machine's path: the providers are not judged here)."""
    with DemoServer(TOKEN, fault="client_cert_required") as server:
        cert, key = server.write_client_cert(tmp_path, valid_days=(-60, -30))
        run = check(server, tmp_path, "--cert", str(cert), "--key", str(key))
    found = run.findings()
    assert found["tls.client_cert_expired"] == ("fail", "tls")
    assert found["tls.client_cert_rejected"] == ("fail", "tls")
    assert run.check("tls")["facts"]["alert"] == "SSLV3_ALERT_CERTIFICATE_EXPIRED"
    assert set(run.verdicts().values()) == {"not_judged_here"}
    assert run.code == 1


def test_a_client_certificate_from_another_ca_is_rejected(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="client_cert_required") as server, DemoServer(TOKEN) as other:
        cert, key = other.write_client_cert(tmp_path)
        run = check(server, tmp_path, "--cert", str(cert), "--key", str(key))
    assert run.findings()["tls.client_cert_rejected"] == ("fail", "tls")
    # Both demo CAs share a name: OpenSSL finds the server's CA as the issuer and the signature
    # fails (decrypt_error); with another name it is unknown_ca.
    alert = run.check("tls")["facts"]["alert"]
    assert alert in ("TLSV1_ALERT_UNKNOWN_CA", "TLSV1_ALERT_DECRYPT_ERROR")
    assert set(run.verdicts().values()) == {"not_judged_here"}
    assert run.code == 1


def test_a_key_that_does_not_match_the_certificate_is_named(tmp_path: Path) -> None:
    """Given mutual TLS, When --key is another certificate's key, Then
    tls.client_cert_key_mismatch, and the server's requirement is still named."""
    with DemoServer(TOKEN, fault="client_cert_required") as server:
        cert, _ = server.write_client_cert(tmp_path)
        other = tmp_path / "other"
        other.mkdir()
        _, key = server.write_client_cert(other)
        run = check(server, tmp_path, "--cert", str(cert), "--key", str(key))
    found = run.findings()
    assert found["tls.client_cert_key_mismatch"] == ("fail", "tls")
    assert found["tls.client_cert_required"] == ("fail", "tls")
    assert set(run.verdicts().values()) == {"will_fail"}
    assert run.code == 1


def test_a_client_certificate_a_server_does_not_ask_for_changes_nothing(tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        cert, key = server.write_client_cert(tmp_path)
        run = check(server, tmp_path, "--cert", str(cert), "--key", str(key))
    assert run.code == 0
    assert run.findings() == {}
    facts = run.check("tls")["facts"]
    assert facts["client_cert_presented"] is True and facts["client_cert_required"] is False


def test_key_without_cert_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scim_doctor", "check", "https://x.test/scim", "--key", "k.pem"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "SCIM_TOKEN": TOKEN},
    )
    assert done.returncode == 2
    assert "--key and --key-passphrase-* need --cert" in done.stderr


@contextlib.contextmanager
def openssl_server(tmp: Path, *flags: str) -> Iterator[int]:
    """`openssl s_server` (OpenSSL's own test server) on 127.0.0.1, requiring client
    certificates from Example Corp's CA (-Verify), which it names in its CertificateRequest
    (-CAfile); stopped and reaped when the block ends."""
    binary = shutil.which("openssl")
    if binary is None:
        components.missing("the openssl command is not installed (Debian package openssl)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [binary, "s_server", "-accept", f"127.0.0.1:{port}", "-www", "-quiet"]
    argv += ["-cert", str(tmp / "server.pem"), "-key", str(tmp / "server-key.pem")]
    argv += ["-CAfile", str(tmp / "client-ca.pem"), "-Verify", "1", *flags]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("protocol", ["-tls1_3", "-tls1_2"])
def test_openssl_s_server_requiring_a_client_certificate_names_the_ca_it_accepts(
    tmp_path: Path, protocol: str
) -> None:
    """Given `openssl s_server -Verify 1 -CAfile client-ca.pem` (TLS 1.3 or 1.2 only), When
    checked without --cert, Then tls.client_cert_required names Example Corp's CA from the
    CertificateRequest; When checked with a certificate from that CA, Then TLS passes."""
    server_ca = CertificateAuthority("mtls server CA")
    client_ca = CertificateAuthority("Example Corp client CA", organization="Example Corp")
    issued = server_ca.issue(["mtls.test"])
    (tmp_path / "server.pem").write_bytes(issued.cert_pem)
    (tmp_path / "server-key.pem").write_bytes(issued.key_pem)
    (tmp_path / "client-ca.pem").write_bytes(client_ca.cert_pem)
    ca = server_ca.write_root_pem(tmp_path)
    client = client_ca.issue_client("scim-doctor tester")
    cert, key = tmp_path / "client.pem", tmp_path / "client-key.pem"
    cert.write_bytes(client.chain_pem())
    key.write_bytes(client.key_pem)
    env = {**os.environ, "SCIM_TOKEN": TOKEN}
    with openssl_server(tmp_path, protocol) as port:
        argv = [sys.executable, "-m", "scim_doctor", "check", f"https://mtls.test:{port}/scim"]
        argv += ["--cacert", str(ca), "--resolve", f"mtls.test:{port}:127.0.0.1"]
        argv += ["--format", "json", "--timeout", "3"]
        without = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        with_cert = subprocess.run(  # s_server -www answers HTML: TLS is the point here
            [*argv, "--only", "tls", "--cert", str(cert), "--key", str(key)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    tls = next(c for c in json.loads(without.stdout)["checks"] if c["id"] == "tls")
    assert [(f["code"], f["severity"]) for f in tls["findings"]] == [
        ("tls.client_cert_required", "fail")
    ]
    if protocol == "-tls1_2":
        assert tls["facts"]["client_cert_ca_names"] == ["CN=Example Corp client CA,O=Example Corp"]
        assert "issued by: CN=Example Corp client CA" in tls["findings"][0]["message"]
    else:  # TLS 1.3 encrypts the CertificateRequest, and the server refuses TLS 1.2
        assert tls["facts"]["client_cert_ca_names"] is None
        assert tls["facts"]["alert"] == "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    assert without.returncode == 1
    verdicts = {v["idp"]: v["verdict"] for v in json.loads(without.stdout)["idp_verdicts"]}
    assert set(verdicts.values()) == {"will_fail"}
    report = json.loads(with_cert.stdout)
    tls = next(c for c in report["checks"] if c["id"] == "tls")
    assert tls["status"] == "pass", tls
    assert [f["code"] for f in tls["findings"]] == ["tls.client_cert_accepted"]


def test_insecure_still_presents_the_client_certificate(tmp_path: Path) -> None:
    """Given mutual TLS behind a certificate this machine does not trust, When checked with
    --insecure and --cert, Then the TLS finding stays and the later checks get through with the
    client certificate (no reset): the token is accepted."""
    with DemoServer(TOKEN, fault="client_cert_required") as server, DemoServer(TOKEN) as other:
        cert, key = server.write_client_cert(tmp_path)
        (tmp_path / "other").mkdir()
        other_ca = other.write_ca(tmp_path / "other")  # a CA that did not issue the server's
        argv = [sys.executable, "-m", "scim_doctor", "check", server.base_url]
        argv += ["--cacert", str(other_ca), "--resolve", server.resolve_pin, "--insecure"]
        argv += ["--cert", str(cert), "--key", str(key), "--format", "json", "--timeout", "3"]
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "SCIM_TOKEN": TOKEN},
        )
    report = json.loads(done.stdout)
    checks = {c["id"]: c for c in report["checks"]}
    assert "tls.untrusted_ca" in [f["code"] for f in checks["tls"]["findings"]]
    assert checks["auth"]["facts"]["requests"]["token"]["status"] == 200
    assert done.returncode == 1
