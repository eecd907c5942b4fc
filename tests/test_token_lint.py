"""Token hygiene: how tokens get mis-pasted, and JWT validity — without ever showing the value."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from scim_doctor.core.secrets import Secret
from scim_doctor.scim.token_lint import decode_jwt_claims, lint_token

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
GOOD = "k7Jq2vX9pL4mN8rT1wY6zA3bC5dE0fGh"


def jwt(**claims: object) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def codes(value: str) -> list[str]:
    return [f.code for f in lint_token(Secret(value), now=NOW).findings]


def test_a_plain_opaque_token_is_clean() -> None:
    assert codes(GOOD) == []


@pytest.mark.parametrize(
    ("pasted", "words"),
    [
        (f"Bearer {GOOD}", "Bearer Bearer"),
        (f" {GOOD} ", "spaces"),
        (f"{GOOD}\n", "line break"),
        (f'"{GOOD}"', "quotes"),
        (f"{GOOD}\u200b", "non-ASCII"),
        (f"{GOOD[:10]} {GOOD[10:]}", "space in the middle"),
    ],
)
def test_a_mis_pasted_token_is_diagnosed_without_showing_it(pasted: str, words: str) -> None:
    [finding] = lint_token(Secret(pasted), now=NOW).findings
    assert finding.code == "auth.token_malformed"
    assert words in finding.message
    assert GOOD not in finding.message and GOOD[:10] not in finding.message


def test_an_expired_jwt_is_diagnosed_with_its_exp_date() -> None:
    exp = int((NOW - dt.timedelta(days=3)).timestamp())
    report = lint_token(Secret(jwt(exp=exp, iss="https://idp.example")), now=NOW)
    [finding] = report.findings
    assert finding.code == "auth.token_expired"
    assert "2026-11-24T12:00:00Z" in finding.message and "3 days ago" in finding.message
    assert report.facts["jwt_iss"] == "https://idp.example"


def test_a_jwt_not_yet_valid_is_diagnosed_with_its_nbf_date() -> None:
    nbf = int((NOW + dt.timedelta(hours=5)).timestamp())
    assert codes(jwt(nbf=nbf)) == ["auth.token_not_yet_valid"]


def test_a_jwt_with_a_bearer_prefix_is_both_malformed_and_still_decoded() -> None:
    exp = int((NOW - dt.timedelta(days=1)).timestamp())
    assert codes(f"Bearer {jwt(exp=exp)}") == ["auth.token_malformed", "auth.token_expired"]


def test_something_that_only_looks_like_a_jwt_is_not_decoded() -> None:
    assert decode_jwt_claims("eyJnotbase64!.eyJx.y") is None
    assert decode_jwt_claims("a.b.c") is None


def test_facts_carry_a_fingerprint_and_length_but_never_the_value() -> None:
    facts = lint_token(Secret(GOOD), now=NOW).facts
    assert facts["length"] == len(GOOD)
    assert GOOD not in json.dumps(facts)
