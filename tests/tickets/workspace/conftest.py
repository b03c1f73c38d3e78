from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tickets.models import Ticket


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


@pytest.fixture
def make_tickets(open_ticket: Callable[..., Ticket]) -> Callable[..., list[Ticket]]:
    """n tickets in a tier, with SLA deadlines an hour apart (the first one soonest)."""

    def make(n: int, tier_level: int = 1, sender: str = "", **fields: Any) -> list[Ticket]:
        now = timezone.now()
        tickets = []
        for i in range(n):
            ticket = open_ticket(tier_level=tier_level, **({"sender": sender} if sender else {}))
            Ticket.objects.filter(pk=ticket.pk).update(
                sla_due_at=now + timedelta(hours=i + 2), **fields
            )
            ticket.refresh_from_db()
            tickets.append(ticket)
        return tickets

    return make
