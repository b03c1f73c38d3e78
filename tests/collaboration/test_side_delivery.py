"""A side conversation's email leaves like a reply: after commit, once, retried while the
mail server is down, failed for good when refused (said on the ticket), and re-queued by
the outbound sweep when its task was lost."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from channels_ingest import tasks
from tickets.collab import services as collab
from tickets.models import DeliveryStatus, EventKind, SideMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def side(ticket, ann):
    """Written, not yet sent (its task is queued after commit, which tests run by hand)."""
    conversation = collab.side_conversation_start(
        ticket=ticket, to="help@vendor.example", subject="Sync", text="Hello", actor=ann
    )
    return conversation.messages.get()


def test_sent_once_however_often_its_task_runs(side):
    tasks.deliver_side_message.apply(args=[side.pk])
    tasks.deliver_side_message.apply(args=[side.pk])
    assert [m.to for m in mail.outbox] == [["help@vendor.example"]]
    side.refresh_from_db()
    assert side.delivery_status == DeliveryStatus.SENT


def test_a_refused_address_fails_for_good_and_says_so_on_the_ticket(side, ticket, settings):
    settings.EMAIL_BACKEND = "tests.channels_ingest.test_delivery.RefusingBackend"
    tasks.deliver_side_message.apply(args=[side.pk])
    side.refresh_from_db()
    assert side.delivery_status == DeliveryStatus.FAILED and "refused" in side.delivery_error
    event = ticket.events.get(kind=EventKind.DELIVERY_FAILED)
    assert event.data["side_message"] == side.pk


def test_a_server_down_is_retried_then_given_up(side, settings):
    settings.EMAIL_BACKEND = "tests.channels_ingest.test_delivery.FlakyBackend"
    with pytest.raises(Retry):
        tasks.deliver_side_message.apply(args=[side.pk], throw=True)
    side.refresh_from_db()
    assert side.delivery_status == DeliveryStatus.PENDING
    last = tasks.deliver_side_message.max_retries
    tasks.deliver_side_message.apply(args=[side.pk], retries=last, throw=True)
    side.refresh_from_db()
    assert side.delivery_status == DeliveryStatus.FAILED


def test_the_sweep_sends_what_was_left_pending(side, celery_eager):
    SideMessage.objects.filter(pk=side.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert tasks.sweep_outbound.apply().get() == 1
    side.refresh_from_db()
    assert side.delivery_status == DeliveryStatus.SENT
