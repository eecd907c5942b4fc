"""Running checks: one target, a fleet, a repeated series, and the config file that lists
targets.
"""
