"""The models django-scim2's documentation asks for: a custom user model with
`AbstractSCIMUserMixin` and a group model with `AbstractSCIMGroupMixin`, shaped the way its
default adapters (`django_scim.adapters.SCIMUser` and `SCIMGroup`) read them: `username`,
`first_name`, `last_name`, `email`, `is_active`, `date_joined` on the user; `name` and the
members as `user_set` on the group."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):  # type: ignore[misc]
    name = models.CharField(max_length=150, unique=True)

    class Meta:
        app_label = "directory"


class UserManager(BaseUserManager):  # type: ignore[misc]
    def create_user(self, username: str, **fields: Any) -> User:
        user: User = self.model(username=username, **fields)
        user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(AbstractSCIMUserMixin, AbstractBaseUser):  # type: ignore[misc]
    username = models.CharField(max_length=150, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    groups = models.ManyToManyField(Group, related_name="user_set", blank=True)

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    objects = UserManager()

    class Meta:
        app_label = "directory"

    @property
    def scim_groups(self) -> Any:
        """What SCIMUser.groups lists (the mixin leaves it to the application)."""
        return self.groups
