"""The desk's set-up (tiers, SLA policies, calendars, customer notices), kept in memory by
each process: read once, read again when an admin changes it."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tickets import services
from tickets.models import SLAPolicy, Ticket

pytestmark = pytest.mark.django_db

_SET_UP_TABLES = ("tickets_tier", "tickets_slapolicy", "tickets_customernotice")


def _first_response_minutes(ticket: Ticket) -> int | None:
    clock = ticket.clocks.filter(kind="first_response").first()
    return clock.target_minutes if clock else None


def test_a_policy_changed_by_an_admin_times_the_next_ticket(inbound):
    policy = SLAPolicy.objects.create(name="24/7", is_default=True, first_response_minutes=60)
    first = services.ticket_ingest(inbound=inbound()).ticket
    policy.first_response_minutes = 15
    policy.save()  # as the admin and the API do
    second = services.ticket_ingest(inbound=inbound()).ticket
    assert (_first_response_minutes(first), _first_response_minutes(second)) == (60, 15)


def test_a_change_made_in_another_process_is_seen_once_its_version_moves(inbound):
    policy = SLAPolicy.objects.create(name="24/7", is_default=True, first_response_minutes=60)
    services.ticket_ingest(inbound=inbound())
    # Another process saves the policy: the row changes, this process's signal does not fire.
    SLAPolicy.objects.filter(pk=policy.pk).update(first_response_minutes=15)
    kept = services.ticket_ingest(inbound=inbound()).ticket
    cache.set("desk-setup:version", "moved by the other process")  # what its signal does
    fresh = services.ticket_ingest(inbound=inbound()).ticket
    assert (_first_response_minutes(kept), _first_response_minutes(fresh)) == (60, 15)


def test_a_message_reads_none_of_the_set_up_while_it_is_current(inbound, settings):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    settings.HELPDESK_SETUP_CHECK_SECONDS = 60
    SLAPolicy.objects.create(name="24/7", is_default=True, first_response_minutes=60)
    services.ticket_ingest(inbound=inbound())
    with CaptureQueriesContext(connection) as queries:
        result = services.ticket_ingest(inbound=inbound())
    assert _first_response_minutes(result.ticket) == 60
    assert result.ticket.messages.filter(is_automatic=True).exists()  # the notice was read
    read = [q["sql"] for q in queries if any(t in q["sql"] for t in _SET_UP_TABLES)]
    assert read == []
