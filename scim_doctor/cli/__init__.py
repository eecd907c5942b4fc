"""The command line (click only): one module per command; nothing imports it.

The package itself imports nothing: the console script (`scim_doctor.cli:main`) pauses the
garbage collector before click and the commands load (scim_doctor.cli.collector), and `cli`
is imported from scim_doctor.cli.app when it is first asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scim_doctor.cli.app import cli

__all__ = ["cli", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: scim_doctor.cli.app.main, with start-up's collector paused first
    when the process itself runs it (no `argv`)."""
    if argv is None:
        from scim_doctor.cli import collector

        collector.pause()
    from scim_doctor.cli.app import main as run

    run(argv)


def __getattr__(name: str) -> object:
    if name == "cli":
        from scim_doctor.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
