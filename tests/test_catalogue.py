"""The finding catalogue walked whole: every code says how bad it is, how binding its rule is,
where the rule comes from and which providers it breaks, and the demo agrees (issue 16).

The providers an entry names are checked against real runs: the console script against the
demo server carrying each fault, the same way as the fault matrix, so an entry cannot claim a
provider the verdicts do not blame, nor miss one they do.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from scim_doctor.core.findings import CATALOGUE
from scim_doctor.core.model import RequirementLevel, Scope, Severity
from scim_doctor.demo.faults import FAULTS
from scim_doctor.scim.idp import PROFILES
from tests.test_fault_matrix import run_against

PROVIDER_ORDER = tuple(profile.key for profile in PROFILES)

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
