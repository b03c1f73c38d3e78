"""The one ingestion door: threading by every signal, the hijack guard, follow-ups, merges."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tickets import addressing, services
from tickets.errors import InvalidInput
from tickets.inbound import IngestOutcome
from tickets.models import (
    Channel,
    ContactKind,
    EventKind,
    Message,
    Ticket,
    TicketEvent,
    TicketParticipant,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(open_ticket, agent):
    """A ticket from ann@example.com with one agent reply (our Message-ID)."""
    ticket = open_ticket(sender="ann@example.com", external_id="<first@ann.example>")
    reply = services.ticket_reply(ticket=ticket, actor=agent, text="Please try again")
    return ticket, reply


def test_reply_to_our_message_id_threads(conversation, inbound):
    ticket, reply = conversation
    result = services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", thread_ids=(reply.external_id,))
    )
    assert result.outcome == IngestOutcome.THREADED
    assert result.ticket.pk == ticket.pk


def test_references_to_a_stored_customer_message_thread(conversation, inbound):
    ticket, _ = conversation
    result = services.ticket_ingest(
        inbound=inbound(
            sender="ann@example.com",
            subject="Totally different subject",
            thread_ids=("<unknown@elsewhere>", "<first@ann.example>"),
        )
    )
    assert result.ticket.pk == ticket.pk


def test_our_message_id_threads_even_if_it_was_never_stored(conversation, inbound):
    ticket, _ = conversation
    forged_but_ours = addressing.new_message_id(ticket.pk)
    result = services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", thread_ids=(forged_but_ours,))
    )
    assert result.ticket.pk == ticket.pk


def test_signed_reply_address_threads(conversation, inbound):
    ticket, _ = conversation
    result = services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", recipients=(addressing.reply_address(ticket.pk),))
    )
    assert result.ticket.pk == ticket.pk


def test_forged_reply_token_does_not_thread(conversation, inbound):
    ticket, _ = conversation
    local, domain = addressing.support_address().split("@")
    forged = f"{local}+t{ticket.pk}-0000000000000000@{domain}"
    result = services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", subject="New question", recipients=(forged,))
    )
    assert result.outcome == IngestOutcome.NEW


def test_subject_reference_threads_for_the_customer(conversation, inbound):
    ticket, _ = conversation
    result = services.ticket_ingest(
        inbound=inbound(sender="ANN@example.com", subject=f"Re: help [{ticket.reference}]")
    )
    assert result.ticket.pk == ticket.pk


def test_stranger_replying_to_an_announcement_does_not_join(conversation, inbound):
    ticket, reply = conversation
    results = [
        services.ticket_ingest(
            inbound=inbound(sender=f"reader{n}@example.com", thread_ids=(reply.external_id,))
        )
        for n in range(3)
    ]
    assert {r.outcome for r in results} == {IngestOutcome.NEW}
    assert len({r.ticket.pk for r in results}) == 3
    assert ticket.messages.count() == 2  # untouched
    related = TicketEvent.objects.get(ticket=results[0].ticket, kind=EventKind.RELATED)
    assert related.data["related"] == ticket.pk
    assert related.data["via"] == "headers"


def test_stranger_using_the_subject_tag_does_not_join(conversation, inbound):
    ticket, _ = conversation
    result = services.ticket_ingest(
        inbound=inbound(sender="mallory@example.com", subject=f"[{ticket.reference}] hi")
    )
    assert result.ticket.pk != ticket.pk


def test_cc_becomes_participant_who_can_reply(open_ticket, inbound):
    ticket = open_ticket(
        sender="ann@example.com",
        cc=(("Bob@Example.com", "Bob"), ("ann@example.com", "Ann"), ("support@localhost", "")),
    )
    participants = list(
        TicketParticipant.objects.filter(ticket=ticket).values_list("email", "name")
    )
    assert participants == [("bob@example.com", "Bob")]
    result = services.ticket_ingest(
        inbound=inbound(sender="bob@example.com", subject=f"Re: [{ticket.reference}]")
    )
    assert result.ticket.pk == ticket.pk


def test_reply_to_resolved_ticket_reopens_it(conversation, inbound, agent):
    ticket, reply = conversation
    services.ticket_resolve(ticket=ticket, actor=agent)
    services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", thread_ids=(reply.external_id,))
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_reply_to_a_ticket_resolved_longer_ago_than_the_reopen_window_opens_a_follow_up(
    conversation, inbound, agent, settings
):
    # The rule of the portal's reply box too (tickets/services/reopening.py).
    settings.HELPDESK_REOPEN_DAYS = 7
    ticket, reply = conversation
    resolved_at = timezone.now()
    with time_machine.travel(resolved_at, tick=False):
        services.ticket_resolve(ticket=ticket, actor=agent)
    with time_machine.travel(resolved_at + timedelta(days=7, minutes=1), tick=False):
        result = services.ticket_ingest(
            inbound=inbound(sender="ann@example.com", thread_ids=(reply.external_id,))
        )

    assert result.outcome == IngestOutcome.NEW
    assert result.ticket.follow_up_of_id == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_reply_to_closed_ticket_opens_a_linked_follow_up(conversation, inbound, agent):
    ticket, reply = conversation
    services.ticket_change_priority(ticket=ticket, priority="high", actor=agent)
    services.ticket_close(ticket=ticket, actor=agent)

    result = services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", thread_ids=(reply.external_id,))
    )

    follow_up = Ticket.objects.get(pk=result.ticket.pk)
    assert result.outcome == IngestOutcome.NEW
    assert follow_up.follow_up_of_id == ticket.pk
    assert follow_up.customer_id == ticket.customer_id
    assert follow_up.priority == "high"
    assert TicketEvent.objects.get(ticket=follow_up, kind=EventKind.FOLLOW_UP).data == {
        "follow_up_of": ticket.pk
    }
    assert TicketEvent.objects.get(ticket=ticket, kind=EventKind.FOLLOW_UP).data == {
        "follow_up": follow_up.pk
    }


def test_reply_to_merged_ticket_lands_on_the_kept_ticket(conversation, open_ticket, inbound, agent):
    ticket, reply = conversation
    kept = open_ticket(sender="ann@example.com")
    services.ticket_merge(source=ticket, target=kept, actor=agent)

    result = services.ticket_ingest(
        inbound=inbound(sender="ann@example.com", thread_ids=(reply.external_id,))
    )
    assert result.ticket.pk == kept.pk


def test_redelivery_is_a_duplicate(conversation, inbound):
    message = inbound(sender="ann@example.com", external_id="<again@ann.example>")
    first = services.ticket_ingest(inbound=message)
    second = services.ticket_ingest(inbound=message)
    assert second.outcome == IngestOutcome.DUPLICATE
    assert second.message.pk == first.message.pk


def test_mail_from_our_own_address_is_refused(inbound):
    with pytest.raises(InvalidInput) as error:
        services.ticket_ingest(inbound=inbound(sender="support+t1-abc@localhost"))
    assert error.value.code == "own_address"
    assert not Message.objects.exists()


def test_sms_joins_the_recent_ticket_of_that_number(inbound):
    sms = {"channel": Channel.SMS, "sender_kind": ContactKind.PHONE, "sender": "+14155550111"}
    first = services.ticket_ingest(inbound=inbound(**sms))
    second = services.ticket_ingest(inbound=inbound(**sms))
    assert second.ticket.pk == first.ticket.pk

    later = timezone.now() + timedelta(hours=73)
    third = services.ticket_ingest(inbound=inbound(**sms), now=later)
    assert third.ticket.pk != first.ticket.pk


def test_web_and_api_messages_always_open_tickets(conversation, inbound):
    ticket, _ = conversation
    result = services.ticket_ingest(
        inbound=inbound(
            channel=Channel.WEB, sender="ann@example.com", subject=f"[{ticket.reference}]"
        )
    )
    assert result.outcome == IngestOutcome.NEW
