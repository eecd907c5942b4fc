"""Reaching the server: target URLs, DNS, connections, the one HTTP client, bodies, trust
stores, certificate facts.
"""
