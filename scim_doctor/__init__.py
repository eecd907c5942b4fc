"""scim-doctor: why an identity provider cannot talk to a SCIM 2.0 endpoint, and how to fix it."""

from scim_doctor import _lazy_h2, _lazy_rfc4514

__version__ = "0.1.0"

_lazy_h2.install()
_lazy_rfc4514.install()
