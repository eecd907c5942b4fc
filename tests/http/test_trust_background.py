"""The trust store built in the background while start-up goes on (issue 21)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from scim_doctor.core.errors import InputError
from scim_doctor.demo import pki
from scim_doctor.net.trust import load_in_background, load_trust


def _background_builds_done() -> None:
    for thread in threading.enumerate():
        if thread.name == "trust store":
            thread.join(timeout=30)


def test_the_store_built_in_the_background_is_the_one_the_run_uses(
    ca: pki.CertificateAuthority, tmp_path: Path
) -> None:
    """Given --cacert built in the background, when the run asks for its trust, then it gets
    that very context: the store is built once."""
    cacert = ca.write_root_pem(tmp_path)

    load_in_background(cacert)
    _background_builds_done()
    built = load_trust(cacert)

    assert load_trust(cacert) is built
    assert built.description == f"--cacert {cacert}"


def test_a_store_that_cannot_be_built_fails_where_the_run_asks_for_it(tmp_path: Path) -> None:
    """Given a --cacert that holds no certificate, when it is built in the background, then
    nothing is raised there, and the run's own call raises the usual input error."""
    cacert = tmp_path / "empty.pem"
    cacert.write_text("no certificate here\n", encoding="utf-8")

    load_in_background(cacert)
    _background_builds_done()

    with pytest.raises(InputError, match="holds no PEM certificate"):
        load_trust(cacert)
