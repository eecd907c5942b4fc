"""The finding catalogue walked whole: every code says how bad it is, how binding its rule is,
where the rule comes from and which providers it breaks, and the demo agrees (issue 16).

The providers an entry names are checked against real runs: the console script against the
demo server carrying each fault, the same way as the fault matrix, so an entry cannot claim a
provider the verdicts do not blame, nor miss one they do.
"""

from __future__ import annotations

import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import ReferenceKind, RequirementLevel, Scope, Severity
from scim_doctor.demo.faults import FAULTS
from scim_doctor.scim.idp import PROFILES
from tests.test_fault_matrix import run_against

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

PROVIDER_ORDER = tuple(profile.key for profile in PROFILES)

RFC_REQUIREMENTS = Path(__file__).resolve().parent / "data" / "rfc_requirements.toml"
"""code -> the RFC sentence its level rests on: rfc, section, quote (and a note)."""

ABSOLUTE = re.compile(r"\b(?:MUST|REQUIRED|SHALL)\b")
"""RFC 2119's absolute requirements, MUST NOT and SHALL NOT included; only capitals count (RFC
7644 §1.2: lower-case words have their natural-language sense)."""


def rfc_requirements() -> dict[str, dict[str, Any]]:
    with RFC_REQUIREMENTS.open("rb") as file:
        loaded: dict[str, dict[str, Any]] = tomllib.load(file)
    return loaded


def names_section(reference: str, rfc: int, section: str) -> bool:
    """Whether `reference` cites `section` of RFC `rfc`: a "§section" after "RFC rfc" and before
    the next RFC it names, not the start of a longer section number (§3.5 is not §3.5.1)."""
    for match in re.finditer(rf"RFC {rfc}(?!\d)", reference):
        rest = reference[match.end() :]
        following = re.search(r"RFC \d", rest)
        span = rest[: following.start()] if following else rest
        if re.search(rf"§{re.escape(section)}(?![.\d])", span):
            return True
    return False


# The module fixture runs every fault once (two subprocesses at a time) before the first test.
pytestmark = pytest.mark.timeout(600)


def test_given_any_code_then_it_has_a_severity_a_level_and_a_reference() -> None:
    """A reader of `explain` must always learn how bad a finding is and how binding its rule."""
    for spec in CATALOGUE.values():
        assert isinstance(spec.severity, Severity), spec.code
        assert isinstance(spec.level, RequirementLevel), spec.code
        assert spec.reference.strip(), spec.code


def test_given_any_code_then_its_providers_are_profile_keys_in_profile_order() -> None:
    """Providers are compared with a report's `affects`, which lists them in profile order."""
    for spec in CATALOGUE.values():
        known = [key for key in PROVIDER_ORDER if key in spec.providers]
        assert list(spec.providers) == known, f"{spec.code}: {spec.providers}"


def test_given_an_info_code_then_its_rule_is_never_an_rfc_must() -> None:
    """Breaking a MUST is at least a warning under the one severity rule (README "Severity"):
    `info` is for hygiene, an RFC SHOULD, or a risk that needs another mistake first."""
    wrong = [
        s.code
        for s in CATALOGUE.values()
        if s.severity is Severity.INFO and s.level is RequirementLevel.MUST
    ]
    assert wrong == []


def test_given_a_fail_code_then_a_provider_trips_on_it_or_an_rfc_must_or_idp_rule_backs_it() -> (
    None
):
    """A catalogued `fail` that no provider trips on is shown as `warn`, and the README keeps that
    for "an RFC MUST no provider in scope trips on"; with neither providers nor a MUST or a
    documented provider requirement behind it, `fail` would be a severity without a reason.
    `run.*` codes are about the run and `this_machine` codes about the admin's own path, not the
    endpoint: neither is judged by provider."""
    unbacked = {
        s.code
        for s in CATALOGUE.values()
        if s.severity is Severity.FAIL
        and not s.providers
        and s.level not in (RequirementLevel.MUST, RequirementLevel.IDP)
        and not s.code.startswith("run.")
        and s.scope is Scope.ENDPOINT
    }
    assert unbacked == set()


def test_given_the_rfc_quotes_then_each_is_a_short_sentence_its_entry_cites() -> None:
    """A quote belongs to a catalogued code, and the entry's reference names its RFC and section,
    so a reader of `explain` is sent where the sentence is."""
    for code, record in rfc_requirements().items():
        assert code in CATALOGUE, code
        assert set(record) <= {"rfc", "section", "quote", "note"}, code
        assert isinstance(record["rfc"], int) and isinstance(record["section"], str), code
        assert 0 < len(record["quote"]) <= 300, code
        assert names_section(CATALOGUE[code].reference, record["rfc"], record["section"]), code


def test_given_a_must_level_code_then_an_rfc_sentence_with_must_or_shall_backs_it() -> None:
    """`must` is claimed only where the RFC says MUST, MUST NOT, REQUIRED, SHALL or SHALL NOT."""
    quotes = rfc_requirements()
    for spec in CATALOGUE.values():
        if spec.level is RequirementLevel.MUST:
            assert spec.code in quotes, f"{spec.code}: no RFC sentence recorded"
            assert ABSOLUTE.search(quotes[spec.code]["quote"]), spec.code


def test_given_a_should_level_rfc_code_then_its_sentence_is_no_must() -> None:
    """An RFC entry at warn or fail with level `should` has its sentence recorded, and that
    sentence is a SHOULD or a statement without a keyword: were it a MUST, the level would be
    `must`."""
    quotes = rfc_requirements()
    for spec in CATALOGUE.values():
        if spec.level is not RequirementLevel.SHOULD:
            continue
        if spec.reference_kind is ReferenceKind.RFC and spec.severity is not Severity.INFO:
            assert spec.code in quotes, f"{spec.code}: no RFC sentence recorded"
        if spec.code in quotes:
            assert not ABSOLUTE.search(quotes[spec.code]["quote"]), spec.code


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    """Every fault's JSON report (two runs at a time, as in the fault matrix)."""
    names = sorted(FAULTS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(run_against, names))
    return {name: json.loads(run.stdout) for name, run in zip(names, runs, strict=True)}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_given_a_demo_fault_then_each_expected_code_breaks_the_providers_its_entry_names(
    reports: dict[str, dict[str, Any]], fault: str
) -> None:
    """The entry's providers are what the provider verdicts blame: a `fail` finding's `affects`
    equals them, and a finding no provider trips on (warn or info) affects nobody."""
    found = {f["code"]: f for c in reports[fault]["checks"] for f in c["findings"]}
    for code in FAULTS[fault].expect:
        finding = found[code]
        affects = tuple(finding.get("affects", ()))
        if finding["severity"] == Severity.FAIL.value:
            assert affects == CATALOGUE[code].providers, f"{fault}: {code} affects {affects}"
        else:
            assert affects == (), f"{fault}: {code} is {finding['severity']} yet affects {affects}"


WARN_ON_A_SHOULD = {
    "negotiation.json_rejected": "breaks clients that ask for application/json (scripts, older "
    "SCIM clients, test buttons) once one is used",
    "negotiation.no_accept_rejected": "breaks any client that sends no Accept header (field "
    "report: an Entra ID Test connection answered 406, azure-docs#94189)",
    "negotiation.wrong_content_type": "breaks clients that choose their parser by Content-Type",
    "users.deep_total_mismatch": "breaks later: users past the short pages are never imported",
    "users.deep_nonconformant_users": "breaks stricter clients that validate users; tolerant "
    "providers accept them today",
    "users.resource_nonconformant": "breaks stricter clients that validate users; tolerant "
    "providers accept them today",
    "users.list_response_inconsistent": "breaks paging clients once the directory outgrows one "
    "page",
    "users.count_zero_ignored": "breaks clients that count users with count=0: they get pages",
    "discovery.service_provider_config_missing": "breaks clients that read discovery "
    "(SailPoint, Okta Identity Governance, SCIM SDKs), none of the five provisioning clients",
    "discovery.service_provider_config_invalid": "as service_provider_config_missing",
    "discovery.resource_types_invalid": "as service_provider_config_missing",
    "discovery.schemas_invalid": "as service_provider_config_missing",
    "discovery.by_id_unavailable": "as service_provider_config_missing (clients that read one "
    "definition at a time)",
    "errors.unknown_id_not_404": "breaks later: a user deleted on the server is not seen as gone",
    "lifecycle.create_no_meta": "breaks later: clients that read meta.location or version back",
    "lifecycle.group_create_failed": "breaks group provisioning once groups are assigned",
    "lifecycle.patch_rfc_rejected": "breaks Entra ID once its Tenant URL carries aadOptscim062020 "
    "(Microsoft's fix for its own dialect), and every client that sends the standard form",
}
"""Catalogued `warn` codes whose RFC text is a SHOULD (or has no keyword) and that no provider
trips on: by the severity rule a SHOULD is `info` unless the deviation breaks something later
or for clients beyond the five providers. Each says which; reviewed at issue 16."""


def test_given_a_warning_on_a_should_then_it_says_what_it_breaks_later() -> None:
    """A `warn` rests on a MUST, a provider that trips on it, a security hole, or something it
    breaks later: a SHOULD-level warning no provider names must be listed with that reason."""
    unexplained = {
        s.code
        for s in CATALOGUE.values()
        if s.severity is Severity.WARN
        and s.level is RequirementLevel.SHOULD
        and not s.providers
        and s.code not in WARN_ON_A_SHOULD
    }
    assert unexplained == set()
    stale = {
        code
        for code in WARN_ON_A_SHOULD
        if code in CATALOGUE
        and (CATALOGUE[code].severity is not Severity.WARN or CATALOGUE[code].providers)
    }
    assert stale == set(), "no longer a warning no provider names: drop it from the list"
