"""The URL lint: mistakes admins make when pasting a base URL, named and corrected."""

from __future__ import annotations

import pytest

from scim_doctor.net.target import InputError, parse_base_url, parse_resolve


def codes(url: str) -> list[str]:
    return [f.code for f in parse_base_url(url).lint]


def test_a_clean_base_url_has_no_lint_and_keeps_its_path() -> None:
    target = parse_base_url("https://scim.example.com/scim/v2")
    assert target.lint == ()
    assert (target.host, target.port, target.path) == ("scim.example.com", 443, "/scim/v2")
    assert target.url("/Users") == "https://scim.example.com/scim/v2/Users"


def test_a_base_pasted_with_users_on_the_end_is_stripped_and_the_url_to_configure_named() -> None:
    target = parse_base_url("https://scim.example.com/scim/v2/Users")
    assert target.base_url == "https://scim.example.com/scim/v2"
    [finding] = target.lint
    assert finding.code == "url.endpoint_suffix"
    assert "https://scim.example.com/scim/v2" in finding.remediation


@pytest.mark.parametrize("suffix", ["/ServiceProviderConfig", "/users", "/Schemas", "/Groups/"])
def test_every_endpoint_suffix_is_recognised_case_insensitively(suffix: str) -> None:
    target = parse_base_url(f"https://h.example.com/api/scim/v2{suffix}")
    assert target.path == "/api/scim/v2"
    assert "url.endpoint_suffix" in [f.code for f in target.lint]


def test_a_query_string_is_flagged_and_dropped() -> None:
    target = parse_base_url("https://h.example.com/scim/v2?aadOptscim062020#x")
    assert codes("https://h.example.com/scim/v2?tenant=1") == ["url.query_or_fragment"]
    assert "?" not in target.base_url and "#" not in target.base_url


def test_an_underscore_in_the_host_is_flagged_because_okta_refuses_it() -> None:
    assert codes("https://my_tenant.example.com/scim/v2") == ["url.underscore_in_host"]


def test_a_trailing_slash_is_flagged_as_info_and_removed() -> None:
    target = parse_base_url("https://h.example.com/scim/v2/")
    assert [(f.code, f.severity.value) for f in target.lint] == [("url.trailing_slash", "info")]
    assert target.base_url == "https://h.example.com/scim/v2"


def test_default_and_explicit_ports() -> None:
    assert parse_base_url("http://h.example.com/x").port == 80
    assert parse_base_url("https://h.example.com:8443/x").base_url == "https://h.example.com:8443/x"


def test_ipv6_literals_keep_their_brackets_in_urls_only() -> None:
    target = parse_base_url("https://[::1]:8443/scim")
    assert target.host == "::1"
    assert target.url("/Users") == "https://[::1]:8443/scim/Users"


def test_an_internationalised_host_name_is_checked_in_its_ascii_form() -> None:
    target = parse_base_url("https://bücher.example/scim/v2")
    assert target.host == "xn--bcher-kva.example"


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(InputError) as excinfo:
        parse_base_url("https://admin:s3cr3t-value@h.example.com/scim")
    assert "s3cr3t-value" not in str(excinfo.value)


def test_resolve_pins_follow_curl_syntax_including_bracketed_ipv6() -> None:
    pin = parse_resolve("Scim.Example.com:443:[::1]")
    assert (pin.host, pin.port, pin.address) == ("scim.example.com", 443, "::1")


def test_entras_feature_flag_is_kept_explained_and_not_called_an_error() -> None:
    """`?aadOptscim062020` belongs in Entra ID's Tenant URL on purpose."""
    target = parse_base_url("https://h.example.com/scim/v2?aadOptscim062020")
    assert [(f.code, f.severity.value) for f in target.lint] == [("url.entra_feature_flag", "info")]
    assert target.base_url == "https://h.example.com/scim/v2"
    assert target.query == "aadOptscim062020"
