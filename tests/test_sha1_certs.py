"""SHA-1 signatures end to end (issue 20, part 2): the CLI in a subprocess against the demo
server presenting a leaf, or an intermediate, that the trusted test CA signed with SHA-1 (by the
real openssl command: `cryptography` refuses to sign with SHA-1).

Each test: Given the chain, When `scim-doctor check` runs, Then the JSON names
tls.sha1_signature and the certificate signed so, with severity, check, provider verdicts and
exit code; the diagnosis is read from the certificate's signatureAlgorithm.
"""

from __future__ import annotations

from pathlib import Path

from scim_doctor.demo.server import DemoServer
from tests.conftest import assert_one_verdict
from tests.support.sha1_certs import SHA1_INTERMEDIATE, SHA1_LEAF
from tests.test_client_certs import TOKEN, check


def test_a_leaf_signed_with_sha1_fails_every_provider_and_names_the_leaf(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault=SHA1_LEAF) as server:
        run = check(server, tmp_path)
        assert server.received == []  # the unverified chain stops the run before any request
    assert run.findings() == {"tls.sha1_signature": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert message.startswith(
        "the certificate 'demo.scim-doctor.test' is signed with SHA-1 (ecdsa-with-SHA1) by "
        "'scim-doctor demo CA'"
    )
    assert "none of the five identity providers documents its own rule" in message
    assert run.check("tls")["facts"]["chain"][0]["signature_hash"] == "sha1"
    assert set(run.verdicts().values()) == {"will_fail"}
    assert_one_verdict(run.report)
    assert run.code == 1


def test_an_intermediate_signed_with_sha1_is_named_as_the_intermediate(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault=SHA1_INTERMEDIATE) as server:
        run = check(server, tmp_path)
    assert run.findings() == {"tls.sha1_signature": ("fail", "tls")}
    message = run.check("tls")["findings"][0]["message"]
    assert message.startswith(
        "the intermediate certificate 'scim-doctor test SHA-1 Issuing CA' is signed with SHA-1 "
        "(ecdsa-with-SHA1) by 'scim-doctor demo CA'"
    )
    assert "the certificate 'demo.scim-doctor.test'" not in message  # the leaf is SHA-256
    assert set(run.verdicts().values()) == {"will_fail"}
    assert_one_verdict(run.report)
    assert run.code == 1
