from typing import Any

import pytest

from tests.factories import AgentFactory
from tickets.models import AgentProfile, Ticket


@pytest.fixture
def ann(db: None) -> Any:
    """A tier-1 agent, who works the tickets below."""
    return AgentFactory(username="ann", first_name="Ann", last_name="Lee", tiers=[1])


@pytest.fixture
def bob(db: None) -> Any:
    """A tier-2 colleague: not of the tickets' tier, emailed his notifications."""
    user = AgentFactory(username="bob", first_name="Bob", last_name="Stone", tiers=[2])
    AgentProfile.objects.filter(user=user).update(email_notifications=True)
    return user


@pytest.fixture
def cleo(db: None) -> Any:
    """Another tier-1 agent, who does not want email."""
    return AgentFactory(username="cleo", first_name="Cleo", last_name="Park", tiers=[1])


@pytest.fixture
def ticket(open_ticket: Any, customer_user: Any) -> Ticket:
    """The portal customer's ticket (customer_user's address), in tier 1."""
    return open_ticket(
        subject="Invoices do not sync",
        text="Since the update our invoices stopped syncing.",
        sender="portal@example.com",
        sender_name="Pat Portal",
    )


@pytest.fixture
def as_user(client: Any) -> Any:
    def login(user: Any) -> Any:
        client.force_login(user)
        return client

    return login
