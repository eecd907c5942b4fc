"""SCIM semantics as pure functions: resource and ListResponse validation, discovery
documents, identity-provider verdicts.
"""
