"""scim-doctor: why an identity provider cannot talk to a SCIM 2.0 endpoint, and how to fix it."""

__version__ = "0.1.0"
