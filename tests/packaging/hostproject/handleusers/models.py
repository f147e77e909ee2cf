"""A user model with no email field at all and a UUID primary key: members sign in with a
handle (AbstractBaseUser; nothing of Django's User but what AbstractBaseUser gives)."""

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


class MemberManager(BaseUserManager):
    def create_user(self, handle, password=None, **fields):
        user = self.model(handle=handle, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, handle, password=None, **fields):
        return self.create_user(handle, password, is_staff=True, is_superuser=True, **fields)


class Member(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    handle = models.CharField(max_length=40, unique=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    objects = MemberManager()

    USERNAME_FIELD = "handle"
    REQUIRED_FIELDS = []

    def __str__(self):
        return f"@{self.handle}"
