import uuid

import pytest
from django.test import Client

from accounts.tests.factories import api_client

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@pytest.fixture(autouse=True)
def isolated_throttles(settings: pytest.FixtureRequest) -> None:
    """Each test counts its own attempts, even on the shared Redis."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}


@pytest.fixture(autouse=True)
def fast_hashing(request: pytest.FixtureRequest, settings: pytest.FixtureRequest) -> None:
    """A fast hasher where hashing is not what a test is about: the code paths are the same, the work ~1 000x less
    than Argon2's. A test about the stored hash asks for ``real_hashing``."""
    if "real_hashing" not in request.fixturenames:
        settings.PASSWORD_HASHERS = [FAST_HASHER]


@pytest.fixture
def real_hashing() -> None:
    """The project's own hashers (Argon2 first), as settings.py has them."""


@pytest.fixture
def browser_client(db: None) -> Client:
    return api_client()
