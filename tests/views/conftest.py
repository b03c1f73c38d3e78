"""Views and teams: a lead of tier 1, and a browser signed in as anyone."""

from typing import Any

import pytest
from django.test import Client

from tests.factories import LeadFactory


def browser(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def lead() -> Any:
    return LeadFactory(username="lena", tiers=[1])
