"""The report model and what every layer shares: findings, secrets, masking, errors,
time limits. Imports nothing else of scim_doctor.
"""
