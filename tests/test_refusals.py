"""net/refusals names what refused a request in front of the API, from samples of real answers.

The samples are abridged copies of what each product answers by default (a WAF's block page, an
allow-list's 403, a front end's header limit), so a change to a marker shows here first. Pure
functions: no server needed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from scim_doctor.net.refusals import (
    answer_text,
    client_cert_page,
    header_too_large,
    ip_refusal,
    server_clock,
    waf_block,
)
from tests.test_body_sniff import (
    AKAMAI_DENIED,
    CLOUDFLARE_BLOCK,
    CLOUDFRONT_WAF,
    F5_REJECTED,
    INCAPSULA,
)

CF = {"Content-Type": "text/html; charset=UTF-8", "CF-RAY": "8f1c2d3e4a5b6c7d-FRA"}

CLOUDFLARE_1020 = b"error code: 1020"
CLOUDFLARE_1006 = b"""<!DOCTYPE html><html><head><title>Access denied | scim.example.com used
Cloudflare to restrict access</title></head><body><div id="cf-error-details">
<h1><span>Error</span><span>1006</span></h1><h2>Access denied</h2>
<p>The owner of this website (scim.example.com) has banned your IP address (198.51.100.23).</p>
<span>Cloudflare Ray ID: <strong>8f1c2d3e4a5b6c7d</strong></span></div></body></html>"""

GITHUB_IP_ALLOW_LIST = (
    b'{"message":"Although you appear to have the correct authorization credentials, the '
    b"`acme` organization has an IP allow list enabled, and your IP address is not permitted "
    b'to access this resource.","documentation_url":"https://docs.github.com/rest"}'
)
IIS_IP_REJECTED = b"""<html><head><title>403 - Forbidden: Access is denied.</title></head>
<body><h2>403.503 - Forbidden: The IP address of the client has been rejected.</h2></body></html>"""
AZURE_APP_SERVICE = b"""<!DOCTYPE html><html><head><title>Web App - Unavailable</title></head>
<body><h1>Error 403 - Forbidden</h1><p>The web app you have attempted to reach has blocked your
access.</p></body></html>"""
NGINX_403 = b"""<html><head><title>403 Forbidden</title></head><body>
<center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>"""
NGINX_HEADER = b"""<html><head><title>400 Request Header Or Cookie Too Large</title></head>
<body><center><h1>400 Bad Request</h1></center><center>Request Header Or Cookie Too Large</center>
<hr><center>nginx</center></body></html>"""
APACHE_HEADER = b"""<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN"><html><head>
<title>400 Bad Request</title></head><body><h1>Bad Request</h1><p>Your browser sent a request
that this server could not understand.<br />Size of a request header field exceeds server
limit.</p></body></html>"""
SCIM_403 = (
    b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"403",'
    b'"detail":"SCIM provisioning is not enabled for this organization"}'
)


# --- WAF and bot protection ---------------------------------------------------------------------


def test_given_a_cloudflare_block_page_then_it_is_a_cloudflare_block_with_the_ray_id() -> None:
    block = waf_block(403, CF, CLOUDFLARE_BLOCK)
    assert block is not None
    assert block.vendor == "Cloudflare"
    assert block.reference == "Ray ID 8f1c2d3e4a5b6c7d-FRA"


def test_given_cloudflare_error_1020_as_plain_text_then_it_is_a_cloudflare_block() -> None:
    headers = {"Content-Type": "text/plain; charset=UTF-8", "CF-RAY": "8f1c2d3e4a5b6c7d-AMS"}
    block = waf_block(403, headers, CLOUDFLARE_1020)
    assert block is not None and block.vendor == "Cloudflare"
    assert "'error code: 1020' in the answer" in block.evidence
    assert "Ray ID 8f1c2d3e4a5b6c7d-AMS" in block.describe()


def test_given_the_apps_own_403_passed_through_cloudflare_then_it_is_no_block() -> None:
    """Every answer through Cloudflare carries cf-ray: the header alone names the CDN, not a
    block, so the application's own refusal keeps its auth.forbidden reading."""
    json_headers = {"Content-Type": "application/scim+json", "CF-RAY": "8f1c2d3e4a5b6c7d-AMS"}
    assert waf_block(403, json_headers, SCIM_403) is None
    assert waf_block(403, {**CF, "Server": "cloudflare"}, NGINX_403) is None


def test_given_an_akamai_reference_page_then_the_reference_number_is_quoted() -> None:
    block = waf_block(403, {"Server": "AkamaiGHost", "Content-Type": "text/html"}, AKAMAI_DENIED)
    assert block is not None and block.vendor == "Akamai"
    assert block.reference == "Reference #18.2f3c1002.1700000000.1a2b3c4d"


def test_given_aws_waf_custom_response_headers_then_it_is_aws_waf() -> None:
    headers = {"x-amzn-waf-blocked-by": "scim-rule", "x-amzn-RequestId": "a1b2-c3d4"}
    block = waf_block(403, headers, b'{"error":"blocked"}')
    assert block is not None and block.vendor == "AWS WAF"
    assert block.reference == "request id a1b2-c3d4"


def test_given_api_gateways_forbidden_with_a_request_id_then_it_is_aws_waf_or_the_gateway() -> None:
    headers = {
        "Content-Type": "application/json",
        "x-amzn-RequestId": "0f5e6a7b-1c2d-3e4f-5a6b-7c8d9e0f1a2b",
        "x-amzn-ErrorType": "ForbiddenException",
    }
    block = waf_block(403, headers, b'{"message":"Forbidden"}')
    assert block is not None and block.vendor == "AWS WAF / API Gateway"
    assert "x-amzn-ErrorType: ForbiddenException" in block.evidence


def test_given_a_cloudfront_waf_page_then_the_request_id_is_quoted() -> None:
    headers = {"Content-Type": "text/html", "X-Amz-Cf-Id": "k3Jq9vXb2LmN8pQr=="}
    block = waf_block(403, headers, CLOUDFRONT_WAF)
    assert block is not None and block.vendor == "AWS WAF / CloudFront"
    assert block.reference is not None and block.reference.startswith("request ID k3Jq9vXb2")


def test_given_f5_asms_rejection_page_answered_with_200_then_it_is_still_a_block() -> None:
    block = waf_block(200, {"Content-Type": "text/html"}, F5_REJECTED)
    assert block is not None and block.vendor == "F5 BIG-IP"
    assert block.reference == "support ID 9876543210123456789"


def test_given_an_imperva_page_then_its_incident_id_is_quoted() -> None:
    block = waf_block(403, {"Content-Type": "text/html"}, INCAPSULA)
    assert block is not None and block.vendor == "Imperva Incapsula"
    assert block.reference == "Incident ID 1234000560123-987"


@pytest.mark.parametrize("status", [401, 404, 429, 500, 503])
def test_given_a_status_with_its_own_meaning_then_it_is_no_waf_block(status: int) -> None:
    assert waf_block(status, CF, CLOUDFLARE_BLOCK) is None


# --- IP allow-lists -----------------------------------------------------------------------------


def test_given_a_page_saying_your_ip_is_not_allowed_then_the_sentence_and_address_are_kept() -> (
    None
):
    page = b"""<html><head><title>403 Forbidden</title></head><body>
    <p>Access denied: your IP address 203.0.113.7 is not allowed to access this service.</p>
    <hr><center>nginx</center></body></html>"""
    refusal = ip_refusal(403, {"Server": "nginx", "Content-Type": "text/html"}, page)
    assert refusal is not None
    assert refusal.said == "your IP address 203.0.113.7 is not allowed to access this service."
    assert refusal.address == "203.0.113.7"
    assert refusal.evidence == ("Server: nginx",)


def test_given_githubs_json_ip_allow_list_error_then_it_is_an_ip_refusal() -> None:
    refusal = ip_refusal(403, {"Content-Type": "application/json"}, GITHUB_IP_ALLOW_LIST)
    assert refusal is not None and refusal.said is not None
    assert "your IP address is not permitted" in refusal.said


@pytest.mark.parametrize("body", [IIS_IP_REJECTED, AZURE_APP_SERVICE])
def test_given_iis_or_azure_app_service_ip_restriction_pages_then_they_are_ip_refusals(
    body: bytes,
) -> None:
    assert ip_refusal(403, {"Content-Type": "text/html"}, body) is not None


def test_given_cloudflare_error_1006_then_the_ban_is_named_with_the_ray_id_and_address() -> None:
    refusal = ip_refusal(403, CF, CLOUDFLARE_1006)
    assert refusal is not None and refusal.vendor == "Cloudflare"
    assert refusal.evidence == (
        "Cloudflare error 1006: the owner banned this machine's IP address",
    )
    assert refusal.reference == "Ray ID 8f1c2d3e4a5b6c7d-FRA"
    assert refusal.address == "198.51.100.23"


def test_given_a_401_saying_the_token_is_not_allowed_from_this_address_then_it_is_one() -> None:
    body = b'{"error":"access_denied","error_description":"Not allowed from this IP address"}'
    refusal = ip_refusal(401, {"Content-Type": "application/json"}, body)
    assert refusal is not None and refusal.said == "Not allowed from this IP address"


def test_given_a_451_geo_block_then_it_is_an_address_refusal() -> None:
    body = b'{"error":"unavailable","message":"Not available here: your country is blocked."}'
    assert ip_refusal(451, {"Content-Type": "application/json"}, body) is not None


@pytest.mark.parametrize(
    "body",
    [
        SCIM_403,
        NGINX_403,
        CLOUDFLARE_BLOCK,
        b'{"detail":"The token is not allowed to read users"}',
        b"Forbidden: shipping address not allowed",
    ],
)
def test_given_a_refusal_that_names_no_address_then_it_is_no_ip_refusal(body: bytes) -> None:
    assert ip_refusal(403, CF, body) is None


def test_given_a_200_saying_the_ip_is_blocked_then_it_is_not_read_as_a_refusal() -> None:
    assert ip_refusal(200, {}, b"<p>Your IP address is not allowed</p>") is None


# --- header too large ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (400, NGINX_HEADER, "'400 Request Header Or Cookie Too Large'"),
        (400, APACHE_HEADER, "'Size of a request header field exceeds'"),
        (431, b"", None),
        (431, b"431 Request Header Fields Too Large", "'Request Header Fields Too Large'"),
    ],
)
def test_given_a_front_ends_header_limit_answer_then_it_is_named(
    status: int, body: bytes, said: str | None
) -> None:
    refusal = header_too_large(status, {"Server": "nginx"}, body, header_line=9_022)
    assert refusal is not None
    assert refusal.vendor == "nginx"
    assert refusal.evidence == ((said,) if said else ())


def test_given_a_plain_400_then_only_a_header_line_past_8_kib_makes_it_a_header_limit() -> None:
    assert header_too_large(400, {}, b"Bad Request", header_line=300) is None
    assert header_too_large(400, {}, b"Bad Request", header_line=12_000) is not None


def test_given_a_401_then_it_is_never_a_header_limit() -> None:
    assert header_too_large(401, {}, NGINX_HEADER, header_line=12_000) is None


# --- the server's clock and the text of an answer -----------------------------------------------


def test_given_a_date_header_then_the_servers_clock_is_read_in_utc() -> None:
    when = server_clock({"Date": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert when == dt.datetime(1994, 11, 6, 8, 49, 37, tzinfo=dt.timezone.utc)


def test_given_a_cached_answer_then_its_age_is_added_to_the_date() -> None:
    when = server_clock({"date": "Sun, 06 Nov 1994 08:49:37 GMT", "Age": "600"})
    assert when == dt.datetime(1994, 11, 6, 8, 59, 37, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("headers", [{}, {"Date": "yesterday"}, {"Date": ""}])
def test_given_no_readable_date_then_the_servers_clock_is_unknown(
    headers: dict[str, str],
) -> None:
    assert server_clock(headers) is None


def test_the_text_of_an_answer_drops_tags_scripts_and_entities() -> None:
    body = b"<html><script>var x = 1;</script><p>Reference&#32;&#35;18</p><b>ok</b></html>"
    assert answer_text(body) == "Reference #18 ok"


_NGINX_496 = (
    b"<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n"
    b"<center><h1>400 Bad Request</h1></center>\r\n"
    b"<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def test_nginx_asking_for_a_client_certificate_is_recognised_by_its_page() -> None:
    """Given nginx's 400 page for a missing client certificate (and for a refused one), Then
    'required' (and 'rejected'); an ordinary 400 page or another status is neither."""
    assert client_cert_page(400, _NGINX_496) == (
        "required",
        "400 No required SSL certificate was sent",
    )
    refused = _NGINX_496.replace(
        b"No required SSL certificate was sent", b"The SSL certificate error"
    )
    assert client_cert_page(400, refused) == ("rejected", "400 The SSL certificate error")
    assert client_cert_page(403, _NGINX_496) is None
    assert (
        client_cert_page(400, b"<html><head><title>400 Bad Request</title></head></html>") is None
    )
