"""The `auth` check on answers from in front of the API: WAF blocks, IP allow-lists, a header
limit, and the server's clock. Against the real demo server over TLS on loopback, with the
demo's own faults (demo/http_faults/front.py) and test-only variants built from the fault kit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from pathlib import Path

import pytest

from scim_doctor.core.model import Severity, Status
from scim_doctor.demo.fault_kit import Fault, map_response
from scim_doctor.demo.http_faults.front import LONG_TOKEN_CHARS
from scim_doctor.demo.scim_app import Handler, Request, Response, error_response
from tests.probes.test_auth import TOKEN, against, codes, message

LONG_TOKEN = (TOKEN + "-" + "q" * LONG_TOKEN_CHARS)[:LONG_TOKEN_CHARS]


def custom(name: str, middleware: object) -> Fault:
    return Fault(name, "test-only fault", "http", (), middleware=middleware)  # type: ignore[arg-type]


def _below_base(request: Request) -> bool:
    return request.scheme == "https" and bool(request.scim_path)


# --- WAF and bot protection ---------------------------------------------------------------------


def test_a_waf_blocking_every_request_is_named_with_its_ray_id_not_as_a_forbidden_token(
    tmp_path: Path,
) -> None:
    outcome = against("waf_blocks_api", tmp_path)

    assert codes(outcome) == {"auth.waf_blocked": Severity.FAIL}
    text = message(outcome, "auth.waf_blocked")
    assert "Cloudflare" in text and "Ray ID 8f1d0c4b2a3e5f60-FRA" in text
    assert "without a token" in text and "cannot tell which" in text
    assert "Security → Events" in text
    assert outcome.summary.startswith("the token was not checked: Cloudflare blocked")
    assert outcome.status is Status.FAIL


def test_a_waf_blocking_only_the_request_with_the_token_says_the_provider_is_blocked_too(
    tmp_path: Path,
) -> None:
    outcome = against("waf_blocks_token", tmp_path)

    assert codes(outcome) == {"auth.waf_blocks_token": Severity.FAIL}
    text = message(outcome, "auth.waf_blocks_token")
    assert "AWS WAF / CloudFront" in text and "request ID Xq3Lk9vB2" in text
    assert "got 401 Unauthorized without a token" in text
    assert "sends the same token" in text


def test_an_akamai_page_for_everyone_quotes_its_reference_number(tmp_path: Path) -> None:
    page = (
        b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>"
        b"You don't have permission to access this server.<P>Reference #18.2f3c1002.1700000000"
        b".1a2b3c4d</BODY></HTML>"
    )

    def akamai(request: Request, call_next: Handler) -> Response:
        if not _below_base(request):
            return call_next(request)
        return Response(403, (("Content-Type", "text/html"), ("Server", "AkamaiGHost")), page)

    outcome = against(custom("akamai", akamai), tmp_path)

    assert codes(outcome) == {"auth.waf_blocked": Severity.FAIL}
    assert "Reference #18.2f3c1002.1700000000.1a2b3c4d" in message(outcome, "auth.waf_blocked")


def test_an_application_403_through_a_cdn_stays_a_forbidden_token(tmp_path: Path) -> None:
    """cf-ray is on every answer through Cloudflare: it does not make the app's 403 a block."""

    def through_cdn(request: Request, response: Response) -> Response:
        if _below_base(request) and response.status == 200:
            response = error_response(403, "SCIM provisioning is not enabled for this account")
        return response.with_header("CF-RAY", "8f1c2d3e4a5b6c7d-FRA")

    outcome = against(custom("cdn", map_response(through_cdn)), tmp_path)

    assert codes(outcome) == {"auth.forbidden": Severity.FAIL}


# --- IP allow-lists -----------------------------------------------------------------------------


def test_an_ip_allow_list_page_is_named_with_what_it_said_and_where_the_ranges_are(
    tmp_path: Path,
) -> None:
    outcome = against("ip_allowlist", tmp_path)

    assert codes(outcome) == {"auth.ip_not_allowed": Severity.FAIL}
    text = message(outcome, "auth.ip_not_allowed")
    assert "your IP address 127.0.0.1 is not allowed" in text
    assert "this machine's address as 127.0.0.1" in text
    assert "cannot prove that the identity provider's addresses are allowed, nor that" in text
    assert "AzureActiveDirectory" in text and "ip_ranges.json" in text


def test_a_json_ip_allow_list_error_after_authentication_is_an_ip_refusal(tmp_path: Path) -> None:
    """GitHub-style: the allow-list is checked after the token, so only the token gets the 403."""
    body = {
        "message": "Although you appear to have the correct authorization credentials, the "
        "`acme` organization has an IP allow list enabled, and your IP address is not permitted "
        "to access this resource."
    }

    def after_auth(request: Request, response: Response) -> Response:
        if _below_base(request) and response.status == 200:
            return Response(403, (("Content-Type", "application/json"),), json.dumps(body).encode())
        return response

    outcome = against(custom("github", map_response(after_auth)), tmp_path)

    assert codes(outcome) == {"auth.ip_not_allowed": Severity.FAIL}
    text = message(outcome, "auth.ip_not_allowed")
    assert "your IP address is not permitted" in text
    assert "got 401 Unauthorized without a token" in text


def test_a_451_saying_the_country_is_blocked_is_an_address_refusal(tmp_path: Path) -> None:
    def geo(request: Request, call_next: Handler) -> Response:
        if not _below_base(request):
            return call_next(request)
        body = b'{"error": "Access from your country is blocked by the site owner."}'
        return Response(451, (("Content-Type", "application/json"),), body)

    outcome = against(custom("geo", geo), tmp_path)

    assert codes(outcome) == {"auth.ip_not_allowed": Severity.FAIL}


# --- a header too large -------------------------------------------------------------------------


def test_a_long_token_refused_as_a_too_large_header_names_its_length_and_the_8_kib_limit(
    tmp_path: Path,
) -> None:
    outcome = against("header_too_large", tmp_path, token=LONG_TOKEN)

    assert codes(outcome) == {"auth.header_too_large": Severity.FAIL}
    text = message(outcome, "auth.header_too_large")
    assert f"The token is {LONG_TOKEN_CHARS:,} characters long" in text
    assert f"{LONG_TOKEN_CHARS + 22:,} bytes" in text
    assert "large_client_header_buffers 4 8k" in text
    assert "'400 Request Header Or Cookie Too Large'" in text
    assert "got 401 Unauthorized without a token" in text
    assert LONG_TOKEN not in text


def test_a_431_to_the_token_only_is_a_header_limit_even_under_8_kib(tmp_path: Path) -> None:
    def strict(request: Request, call_next: Handler) -> Response:
        if _below_base(request) and len(request.header("authorization") or "") > 4096:
            return Response(431, (("Content-Type", "text/plain"),), b"")
        return call_next(request)

    medium = (TOKEN + "-" + "m" * 5000)[:5000]
    outcome = against(custom("strict", strict), tmp_path, token=medium)

    assert codes(outcome) == {"auth.header_too_large": Severity.FAIL}
    assert "under the common 8 KiB limit" in message(outcome, "auth.header_too_large")


def test_a_400_for_everyone_is_no_header_limit(tmp_path: Path) -> None:
    def everyone(request: Request, call_next: Handler) -> Response:
        if not _below_base(request):
            return call_next(request)
        return Response(400, (("Content-Type", "text/html"),), b"<h1>Request Header Too Large</h1>")

    outcome = against(custom("everyone", everyone), tmp_path)

    assert "auth.header_too_large" not in codes(outcome)


# --- the clock ----------------------------------------------------------------------------------


def _dated(offset: dt.timedelta) -> Fault:
    def clock(request: Request, response: Response) -> Response:
        moment = dt.datetime.now(dt.timezone.utc) + offset
        return response.with_header("Date", email.utils.format_datetime(moment, usegmt=True))

    return custom("clock", map_response(clock))


def test_a_server_clock_15_minutes_slow_is_a_warning_naming_both_times(tmp_path: Path) -> None:
    outcome = against("clock_skew", tmp_path)

    assert codes(outcome) == {"auth.clock_skew": Severity.WARN}
    assert outcome.status is Status.WARN
    text = message(outcome, "auth.clock_skew")
    assert "behind this machine's" in text and "cannot be told" in text
    assert "exp and nbf" in text and "certificate validity" in text
    clock = outcome.facts["server_clock"]
    assert -15 * 60 - 5 <= clock["offset_s"] <= -15 * 60 + 5
    assert clock["server_date"] in text and clock["local_time"] in text


def test_a_server_clock_ahead_says_ahead(tmp_path: Path) -> None:
    outcome = against(_dated(dt.timedelta(hours=2, minutes=3)), tmp_path)

    assert re.search(r"2 h (?:2 min 5\d s|3 min)", message(outcome, "auth.clock_skew"))
    assert "ahead of this machine's" in message(outcome, "auth.clock_skew")


@pytest.mark.parametrize("minutes", [-4, 0, 4])
def test_clocks_within_five_minutes_are_facts_only(tmp_path: Path, minutes: int) -> None:
    outcome = against(_dated(dt.timedelta(minutes=minutes)), tmp_path)

    assert outcome.findings == []
    assert abs(outcome.facts["server_clock"]["offset_s"] - minutes * 60) <= 5


def test_an_answer_without_a_date_leaves_the_clock_unknown(tmp_path: Path) -> None:
    def undated(request: Request, response: Response) -> Response:
        return response.with_header("Date", "")

    outcome = against(custom("undated", map_response(undated)), tmp_path)

    assert "server_clock" not in outcome.facts
    assert outcome.findings == []
