"""Which findings are consequences of which: the cause goes first in a report, and a consequence
points at it (`Finding.caused_by`), so a reader starts where the fix is.

Each entry is a consequence code and the codes that, when the same report has them, explain it
(earliest listed wins). Data, grown from the demo faults: a 0-based startIndex makes the
ListResponse look inconsistent; a mis-pasted or expired token is why the server refuses it; a
redirect away from the API is why the status is unexpected; a delete that failed is why the
clean-up is incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping

CAUSED_BY: Mapping[str, tuple[str, ...]] = {
    "users.list_response_inconsistent": (
        "users.zero_based_start_index",
        "users.pagination_ignored",
        "users.count_zero_ignored",
        "users.paging_field_not_integer",
    ),
    "users.count_zero_ignored": ("users.pagination_ignored",),
    "auth.rejected": ("auth.token_malformed", "auth.token_expired", "auth.token_not_yet_valid"),
    "http.unexpected_status": (
        "redirect.cross_host",
        "redirect.downgrade",
        "redirect.loop",
        "redirect.path_moved",
        "redirect.to_login_page",
        "auth.sso_login_page",
    ),
    "lifecycle.cleanup_incomplete": ("lifecycle.delete_failed", "lifecycle.deleted_still_found"),
    "lifecycle.deleted_still_found": ("lifecycle.delete_failed",),
    "errors.invalid_filter_not_rejected": ("users.filter_ignored",),
}
"""Consequence code -> the codes that cause it, in order of preference."""


def cause_of(code: str, present: set[str]) -> str | None:
    """The code in `present` that explains `code`, if the table knows one."""
    return next((cause for cause in CAUSED_BY.get(code, ()) if cause in present), None)
