"""HTTP-layer demo faults, one module per probe family (each exports `FAULTS`)."""

from __future__ import annotations

from scim_doctor.demo.fault_kit import Fault
from scim_doctor.demo.http_faults import (
    auth,
    discovery,
    errors,
    front,
    lifecycle,
    lifecycle_ops,
    negotiation,
    redirect,
    users,
)

HTTP_FAULTS: tuple[Fault, ...] = (
    *redirect.FAULTS,
    *auth.FAULTS,
    *front.FAULTS,
    *negotiation.FAULTS,
    *users.FAULTS,
    *discovery.FAULTS,
    *errors.FAULTS,
    *lifecycle.FAULTS,
    *lifecycle_ops.FAULTS,
)
