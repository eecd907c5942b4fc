"""Default limits, in a module with no imports so the CLI's start-up stays cheap."""

from __future__ import annotations

DEFAULT_TIMEOUT = 10.0
"""Seconds for one network step."""
DEFAULT_DEADLINE = 60.0
"""Seconds for the whole run (or 6 x --timeout when that is longer)."""
DEFAULT_MAX_BODY = 10 * 1024 * 1024
"""Decoded bytes read from one response body."""
DEFAULT_EXPIRY_WARN_DAYS = 14
"""Warn when the certificate expires within this many days."""
