"""Opt-in writes (--allow-writes): the session, its steps and the clean-up that always
runs.
"""
