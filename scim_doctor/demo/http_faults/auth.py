"""Demo faults for the `auth` check."""

from __future__ import annotations

from scim_doctor.demo.fault_kit import Fault

FAULTS: tuple[Fault, ...] = ()
