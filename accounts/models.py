"""Accounts: the user and, later, the public keys and wrapped secrets the server keeps."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """A SecureChat user. The password Django hashes is the browser-derived auth key."""

    class Meta:
        constraints = [
            # "Alice" and "alice" are one account.
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]
