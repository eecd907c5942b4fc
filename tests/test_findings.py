"""The catalogue's helpers for probes."""

from __future__ import annotations

from scim_doctor.core.findings import make, merge_by_code


def test_merging_by_code_keeps_one_finding_per_code_naming_every_occurrence() -> None:
    merged = merge_by_code(
        [
            make("http.timeout", "GET /a timed out"),
            make("http.timeout", "GET /b timed out"),
            make("http.timeout", "GET /a timed out"),
            make("http.server_error", "GET /c answered 500"),
        ]
    )
    assert [(f.code, f.message) for f in merged] == [
        ("http.timeout", "GET /a timed out; GET /b timed out"),
        ("http.server_error", "GET /c answered 500"),
    ]
