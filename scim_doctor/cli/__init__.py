"""The command line (click only): one module per command; nothing imports it."""

from scim_doctor.cli.app import cli, main

__all__ = ["cli", "main"]
