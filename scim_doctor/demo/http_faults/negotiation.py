"""Demo faults for the `negotiation` check."""

from __future__ import annotations

from scim_doctor.demo.fault_kit import Fault

FAULTS: tuple[Fault, ...] = ()
