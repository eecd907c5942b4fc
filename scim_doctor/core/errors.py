"""The one exception type for bad user input (exit code 2, one line on stderr).

Its own module so the command line can catch it without importing anything heavier.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: reported as one line on stderr with exit code 2."""
