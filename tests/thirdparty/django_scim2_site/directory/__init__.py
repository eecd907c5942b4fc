"""The directory app: a User and a Group model with django-scim2's SCIM mixins."""
