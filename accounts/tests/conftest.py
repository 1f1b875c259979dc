import uuid

import pytest
from django.test import Client

from accounts.tests.factories import api_client


@pytest.fixture(autouse=True)
def isolated_throttles(settings: pytest.FixtureRequest) -> None:
    """Each test counts its own attempts, even on the shared Redis cache."""
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}


@pytest.fixture
def browser_client(db: None) -> Client:
    return api_client()
