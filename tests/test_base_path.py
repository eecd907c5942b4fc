"""The right base path (issue 20, part 4): the CLI in a subprocess against the demo server given
a base URL one segment short, and a recording of what each server received.

Given a wrong base path, When `scim-doctor check` runs, Then at most 8 token-less GETs of
/ServiceProviderConfig go to candidates on the same origin, one with the token to the candidate
that answered SCIM, and "did you mean" names it only then.

The SCIM checks after auth send their first requests to the base URL while auth is still
deciding (issue 21: their results wait for its verdict), so the base URL's own endpoints get the
token as auth's /Users request does; the candidates are what these tests hold the token off.
"""

from __future__ import annotations

import re
from pathlib import Path

from scim_doctor.demo.server import DemoServer, RecordedRequest
from tests.test_client_certs import TOKEN, check


def _bearer(request: RecordedRequest) -> bool:
    return request.header("authorization") == f"Bearer {TOKEN}"


def _candidates(spc: list[RecordedRequest], base_path: str) -> list[RecordedRequest]:
    """The /ServiceProviderConfig requests of the base-path search: not the base URL's own."""
    return [r for r in spc if r.path != f"{base_path}/ServiceProviderConfig"]


_BASE_OWN = re.compile(r"/scim(|/Users(/[^/]+)?|/ServiceProviderConfig|/ResourceTypes|/Schemas)")
"""What the checks request of the base URL /scim itself."""


def test_a_base_url_without_its_version_segment_gets_a_did_you_mean(tmp_path: Path) -> None:
    with DemoServer(TOKEN) as server:
        server_base = server.base_url
        run = check(server, tmp_path, base_url=server_base.removesuffix("/v2"))
        received = server.received
    found = run.findings()
    assert found["auth.endpoint_not_found"] == ("fail", "auth")
    assert found["auth.base_path_elsewhere"] == ("info", "auth")
    message = next(
        f["message"]
        for f in run.check("auth")["findings"]
        if f["code"] == "auth.base_path_elsewhere"
    )
    assert message.startswith(f"did you mean {server_base}?")
    assert run.check("auth")["facts"]["base_path_search"]["found"] == server_base
    assert set(run.verdicts().values()) - {"unknown"} == {"will_fail"}
    assert run.code == 1
    spc = [r for r in received if r.path.endswith("/ServiceProviderConfig")]
    candidates = _candidates(spc, "/scim")
    assert len([r for r in candidates if not _bearer(r)]) <= 8
    assert [r.path for r in candidates if _bearer(r)] == ["/scim/v2/ServiceProviderConfig"]


def test_no_did_you_mean_when_no_candidate_answers_scim(tmp_path: Path) -> None:
    with DemoServer(TOKEN, fault="wrong_base_path") as server:
        run = check(server, tmp_path)
        received = server.received
    assert "auth.base_path_elsewhere" not in run.findings()
    assert run.findings()["auth.endpoint_not_found"] == ("fail", "auth")
    assert run.code == 1
    candidates = _candidates(
        [r for r in received if r.path.endswith("/ServiceProviderConfig")], "/scim/v2"
    )
    assert 0 < len(candidates) <= 8
    assert not any(_bearer(r) for r in candidates)


def test_the_token_reaches_no_candidate_off_the_base_urls_origin(tmp_path: Path) -> None:
    """Given a second SCIM server on the same host name at another port (another origin),
    When the base path is wrong, Then it receives nothing, and the target receives the token
    only on the base URL itself and its endpoints, and the one candidate that answered SCIM."""
    with DemoServer(TOKEN) as server, DemoServer(TOKEN, hostname=server.hostname) as other:
        run = check(
            server,
            tmp_path,
            "--resolve",
            other.resolve_pin,
            base_url=server.base_url.removesuffix("/v2"),
        )
        received, elsewhere = server.received, other.received
    assert run.code == 1
    assert elsewhere == []
    with_token = {r.path.split("?")[0] for r in received if _bearer(r)}
    off_base = {path for path in with_token if not _BASE_OWN.fullmatch(path)}
    assert off_base == {"/scim/v2/ServiceProviderConfig"}, with_token
