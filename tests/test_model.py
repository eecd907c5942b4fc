"""The result model (scim_doctor.core.model)."""

from __future__ import annotations

from tests.reporters import sample_reports


def test_a_reports_repr_names_its_target_and_statuses_but_none_of_its_bodies() -> None:
    """Given a report with exchanges, when it is repr()'d (asyncio does, as its run ends), then
    the text names the target, the verdict and each check's status, and quotes no body."""
    report = sample_reports.failing()
    shown = repr(report)

    assert shown.startswith(f"Report({report.target.base_url!r}, fail: ")
    assert all(f"{check.id}={check.status.value}" in shown for check in report.checks)
    bodies = [e.body_excerpt for c in report.checks for e in c.exchanges if e.body_excerpt]
    assert bodies and not any(body in shown for body in bodies)
