"""My tickets: the list, a thread with public messages only, replying with attachments,
closing, and reopening within HELPDESK_REOPEN_DAYS."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.outages import database_refusing
from tests.tickets.portal.conftest import resolve
from tickets import services
from tickets.inbound import InboundAttachment
from tickets.models import (
    Attachment,
    Channel,
    ContactKind,
    EventKind,
    Message,
    MessageKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


def thread_url(ticket: Ticket) -> str:
    return f"/support/tickets/{ticket.pk}/"


# --- The list ------------------------------------------------------------------------------


def test_list_shows_open_and_closed_apart_with_status_and_last_update(ann, agent, open_ticket):
    waiting = open_ticket(sender=ann.email, subject="VPN drops")
    services.ticket_reply(
        ticket=waiting, actor=agent, text="Which version?", status=TicketStatus.PENDING_CUSTOMER
    )
    done = resolve(open_ticket(sender=ann.email, subject="Password reset"), agent)

    page = ann.client.get("/support/tickets/")
    assert page.status_code == 200
    open_refs = [row.ticket.reference for row in page.context["open_rows"]]
    closed_refs = [row.ticket.reference for row in page.context["closed_rows"]]
    assert sorted(open_refs) == sorted([ann.ticket.reference, waiting.reference])
    assert closed_refs == [done.reference]
    labels = {row.ticket.pk: row.status for row in page.context["open_rows"]}
    assert labels == {ann.ticket.pk: "Received", waiting.pk: "Waiting for your reply"}
    assert "Resolved" in page.text and "Waiting for your reply" in page.text
    html = page.text
    assert (
        html.index("VPN drops") < html.index("Resolved and closed") < html.index("Password reset")
    )
    latest = page.context["open_rows"][0].ticket
    assert latest.pk == waiting.pk  # the agent's answer is the latest update
    assert latest.last_update == Ticket.objects.get(pk=waiting.pk).last_message_at


def test_list_costs_the_same_queries_for_2_or_10_tickets(ann, open_ticket, agent):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert ann.client.get("/support/tickets/").status_code == 200
        return len(queries)

    target = open_ticket(sender=ann.email)
    open_ticket(sender=ann.email)
    services.ticket_merge(source=ann.ticket, target=target, actor=agent)
    few = count()
    for _ in range(8):
        resolve(open_ticket(sender=ann.email), agent)
    services.ticket_merge(
        source=open_ticket(sender=ann.email), target=open_ticket(sender=ann.email), actor=agent
    )
    assert count() == few


def test_merged_ticket_shows_where_it_went(ann, agent, open_ticket):
    target = open_ticket(sender=ann.email, subject="Printer, again")
    services.ticket_merge(source=ann.ticket, target=target, actor=agent)
    listing = ann.client.get("/support/tickets/").text
    assert (
        "Merged" in listing
        and f'href="/support/tickets/{target.pk}/">{target.reference}' in listing
    )
    thread = ann.client.get(thread_url(ann.ticket))
    assert f'merged into\n    <a href="/support/tickets/{target.pk}/">' in thread.text
    assert not thread.context["can_write"] and not thread.context["can_close"]
    # The messages moved with the merge: the conversation is on the target.
    assert "Smoke comes out of the printer." in ann.client.get(thread_url(target)).text


# --- The thread ----------------------------------------------------------------------------


def test_thread_shows_public_messages_only(ann, agent):
    services.ticket_add_note(ticket=ann.ticket, actor=agent, text="Customer sounds angry")
    services.ticket_reply(ticket=ann.ticket, actor=agent, text="Please unplug the printer.")
    services.ticket_escalate(
        ticket=Ticket.objects.get(pk=ann.ticket.pk),
        actor=agent,
        reason="Hardware",
        handoff_note="Secret hand-off",
    )
    page = ann.client.get(thread_url(ann.ticket))
    assert page.status_code == 200
    assert "Smoke comes out of the printer." in page.text
    assert "Please unplug the printer." in page.text
    assert "Customer sounds angry" not in page.text
    assert "Secret hand-off" not in page.text and "Hardware" not in page.text
    assert [m.kind for m in page.context["thread"]] == [MessageKind.INBOUND, MessageKind.OUTBOUND]
    attachment = Attachment.objects.get(message__ticket=ann.ticket)
    assert f'href="/support/attachments/{attachment.pk}/"' in page.text
    # Accessible form: every field has a label.
    assert '<label for="id_text">Your message</label>' in page.text
    assert '<label for="id_attachments">Attach files</label>' in page.text


def test_reply_with_attachments_goes_through_the_web_channel(ann, agent):
    services.ticket_reply(
        ticket=ann.ticket, actor=agent, text="Photo?", status=TicketStatus.PENDING_CUSTOMER
    )
    upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    log = SimpleUploadedFile("../../etc/log.txt", b"lines", "text/plain")
    response = ann.client.post(
        thread_url(ann.ticket) + "reply/",
        {"text": "Here it is.", "attachments": [upload, log]},
    )
    assert response.status_code == 302 and response["Location"] == thread_url(ann.ticket)
    message = Message.objects.filter(ticket=ann.ticket, kind=MessageKind.INBOUND).last()
    assert (message.channel, message.body_text, message.sender) == (
        Channel.WEB,
        "Here it is.",
        "ann@example.com",
    )
    assert message.author_customer == ann.customer
    assert sorted(a.filename for a in message.attachments.all()) == ["log.txt", "photo.png"]
    ann.ticket.refresh_from_db()
    assert ann.ticket.status == TicketStatus.OPEN  # the customer answered
    page = ann.client.get(thread_url(ann.ticket))
    assert "Your message was sent." in page.text and "Here it is." in page.text
    download = ann.client.get(
        f"/support/attachments/{message.attachments.get(filename='log.txt').pk}/"
    )
    assert b"".join(download.streaming_content) == b"lines"


def test_empty_reply_is_refused_clearly(ann):
    response = ann.client.post(thread_url(ann.ticket) + "reply/", {"text": "   "})
    assert response.status_code == 400
    assert "Write a message before sending." in response.text
    assert Message.objects.filter(ticket=ann.ticket).count() == 1


def test_too_large_file_is_refused_and_the_text_is_kept(ann, settings):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    big = SimpleUploadedFile("dump.bin", b"x" * 11, "application/octet-stream")
    response = ann.client.post(
        thread_url(ann.ticket) + "reply/",
        {"text": "A long explanation <of> what I tried.", "attachments": [big]},
    )
    assert response.status_code == 400
    assert "dump.bin is larger than 10" in response.text
    assert "A long explanation &lt;of&gt; what I tried.</textarea>" in response.text
    assert Message.objects.filter(ticket=ann.ticket).count() == 1


def test_files_larger_together_than_the_upload_limit_are_refused_and_the_text_kept(ann, settings):
    settings.HELPDESK_MAX_UPLOAD_BYTES = 15
    dumps = [SimpleUploadedFile(f"{n}.bin", b"x" * 8, "application/octet-stream") for n in (1, 2)]
    response = ann.client.post(
        thread_url(ann.ticket) + "reply/",
        {"text": "Both dumps, as asked.", "attachments": dumps},
    )
    assert response.status_code == 400
    assert "These files together are larger than 15" in response.text
    assert "Both dumps, as asked.</textarea>" in response.text
    assert Message.objects.filter(ticket=ann.ticket).count() == 1


def test_a_double_submit_stores_the_message_once(ann):
    form = ann.client.get(thread_url(ann.ticket)).context["reply_form"]
    data = {"text": "Once, please.", "submission": form.initial["submission"]}
    assert ann.client.post(thread_url(ann.ticket) + "reply/", data).status_code == 302
    assert ann.client.post(thread_url(ann.ticket) + "reply/", data).status_code == 302
    assert Message.objects.filter(ticket=ann.ticket, body_text="Once, please.").count() == 1


def test_customer_closes_their_ticket_after_confirming(ann):
    asked = ann.client.post(thread_url(ann.ticket) + "close/")
    assert asked.status_code == 200 and f"Close {ann.ticket.reference}?" in asked.text
    ann.ticket.refresh_from_db()
    assert ann.ticket.status != TicketStatus.CLOSED  # nothing yet
    response = ann.client.post(thread_url(ann.ticket) + "close/", {"confirm": "yes"})
    assert response.status_code == 302
    ann.ticket.refresh_from_db()
    assert ann.ticket.status == TicketStatus.CLOSED
    event = TicketEvent.objects.get(ticket=ann.ticket, kind=EventKind.STATUS_CHANGED)
    assert (event.actor, event.data["to"]) == (ann.user, "closed")
    page = ann.client.get(thread_url(ann.ticket))
    assert "is closed. Thank you!" in page.text
    assert not page.context["can_close"]


# --- Reopening within the window -----------------------------------------------------------


def test_resolved_ticket_reopens_within_the_window(ann, agent):
    resolve(ann.ticket, agent)
    page = ann.client.get(thread_url(ann.ticket))
    assert page.context["can_reopen"] and "Reopen without a message" in page.text
    response = ann.client.post(thread_url(ann.ticket) + "reopen/")
    assert response.status_code == 302
    ann.ticket.refresh_from_db()
    assert ann.ticket.status == TicketStatus.OPEN
    event = TicketEvent.objects.filter(ticket=ann.ticket, kind=EventKind.STATUS_CHANGED).last()
    assert event.actor == ann.user and event.data["reason"] == "reopened by the customer"


def test_reply_to_a_resolved_ticket_reopens_it(ann, agent):
    resolve(ann.ticket, agent)
    ann.client.post(thread_url(ann.ticket) + "reply/", {"text": "Still smoking."})
    ann.ticket.refresh_from_db()
    assert ann.ticket.status == TicketStatus.OPEN


def test_after_the_window_a_reply_opens_a_follow_up_as_by_email(ann, agent, settings):
    settings.HELPDESK_REOPEN_DAYS = 7
    resolved_at = timezone.now()
    with time_machine.travel(resolved_at, tick=False):
        resolve(ann.ticket, agent)
    with time_machine.travel(resolved_at + timedelta(days=6, hours=23), tick=False):
        assert ann.client.get(thread_url(ann.ticket)).context["can_reopen"]
    with time_machine.travel(resolved_at + timedelta(days=7, minutes=1), tick=False):
        page = ann.client.get(thread_url(ann.ticket))
        assert not page.context["can_reopen"] and "Reopen without a message" not in page.text
        assert page.context["writes_follow_up"] and "Send as a follow-up request" in page.text
        refused = ann.client.post(thread_url(ann.ticket) + "reopen/", follow=True)
        assert "so it cannot be reopened; write to us" in refused.text
        late = ann.client.post(thread_url(ann.ticket) + "reply/", {"text": "Hello again"})
    follow_up = Ticket.objects.get(follow_up_of=ann.ticket)
    assert late["Location"] == thread_url(follow_up)
    assert follow_up.messages.get().body_text == "Hello again"
    told = ann.client.get(thread_url(follow_up)).text
    assert (
        f"{ann.ticket.reference} was resolved more than 7 days ago, so we opened "
        f"{follow_up.reference} for your message." in told
    )
    ann.ticket.refresh_from_db()
    assert ann.ticket.status == TicketStatus.RESOLVED


def test_closed_ticket_takes_a_follow_up_within_the_window(ann, agent):
    closed_at = timezone.now()
    with time_machine.travel(closed_at, tick=False):
        services.ticket_close(ticket=ann.ticket, actor=ann.user)
    with time_machine.travel(closed_at + timedelta(days=2), tick=False):
        page = ann.client.get(thread_url(ann.ticket))
        assert page.context["writes_follow_up"] and "Send as a follow-up request" in page.text
        response = ann.client.post(thread_url(ann.ticket) + "reply/", {"text": "It came back."})
    follow_up = Ticket.objects.get(follow_up_of=ann.ticket)
    assert response["Location"] == thread_url(follow_up)
    assert follow_up.customer == ann.customer and follow_up.channel == Channel.WEB
    assert follow_up.subject == ann.ticket.subject
    page = ann.client.get(thread_url(follow_up))
    assert f"we opened {follow_up.reference} for your message" in page.text
    assert f'Follow-up of <a href="/support/tickets/{ann.ticket.pk}/">' in page.text
    with time_machine.travel(closed_at + timedelta(days=8), tick=False):
        assert ann.client.get(thread_url(ann.ticket)).context["writes_follow_up"]


def test_customer_without_an_email_gets_a_web_identity_for_portal_messages(open_ticket):
    """Customers known by phone only can still write in the portal (with a password)."""
    ticket = open_ticket(channel=Channel.SMS, sender_kind=ContactKind.PHONE, sender="+14155550100")
    result = services.ticket_customer_write(
        ticket=ticket, customer=ticket.customer, text="Any news?"
    )
    assert result.ticket.pk == ticket.pk
    assert ticket.customer.contact_points.filter(kind=ContactKind.WEB).count() == 1


def test_a_database_outage_keeps_the_reply_in_its_box_and_sending_again_stores_it_once(ann):
    form = ann.client.get(thread_url(ann.ticket)).context["reply_form"]
    data = {"text": "It smokes again.", "submission": form.initial["submission"]}
    with database_refusing('INSERT INTO "tickets_message"'):
        response = ann.client.post(thread_url(ann.ticket) + "reply/", data)

    assert response.status_code == 503
    assert "could not send your message just now" in response.text
    assert "It smokes again.</textarea>" in response.text
    assert not Message.objects.filter(body_text="It smokes again.").exists()

    for _ in range(2):  # sent again, and once more from the same page
        assert ann.client.post(thread_url(ann.ticket) + "reply/", data).status_code == 302
    assert Message.objects.filter(ticket=ann.ticket, body_text="It smokes again.").count() == 1


def test_a_reply_to_a_ticket_merged_meanwhile_lands_where_it_went_as_by_email(
    ann, agent, open_ticket
):
    form = ann.client.get(thread_url(ann.ticket)).context["reply_form"]  # the page, open
    target = open_ticket(sender=ann.email, subject="Printer, again")
    services.ticket_merge(source=ann.ticket, target=target, actor=agent)

    data = {"text": "Now it beeps too.", "submission": form.initial["submission"]}
    response = ann.client.post(thread_url(ann.ticket) + "reply/", data, follow=True)

    assert response.redirect_chain[-1][0] == thread_url(target)
    assert Message.objects.get(body_text="Now it beeps too.").ticket_id == target.pk
    assert (
        f"{ann.ticket.reference} was merged into {target.reference}, so your message was "
        "added there." in response.text
    )


def test_a_long_list_comes_a_page_at_a_time_open_first_at_the_same_cost(ann, open_ticket, agent):
    def page(number: int):
        with CaptureQueriesContext(connection) as queries:
            response = ann.client.get("/support/tickets/", {"page": number})
        assert response.status_code == 200
        return response, len(queries)

    _, few = page(1)
    done = [resolve(open_ticket(sender=ann.email), agent) for _ in range(50)]
    waiting = open_ticket(sender=ann.email, subject="Still waiting")

    first, first_cost = page(1)
    assert [row.ticket.pk for row in first.context["open_rows"]] == [waiting.pk, ann.ticket.pk]
    assert len(first.context["closed_rows"]) == 48
    assert 'href="?page=2"' in first.text
    second, second_cost = page(2)
    assert len(second.context["closed_rows"]) == 2 and not second.context["open_rows"]
    shown = {row.ticket.pk for r in (first, second) for row in r.context["closed_rows"]}
    assert shown == {ticket.pk for ticket in done}
    assert "You have no open requests." not in second.text
    assert first_cost == second_cost == few
    assert page(99)[0].context["closed_rows"] == second.context["closed_rows"]  # the last


def test_a_thread_costs_the_same_queries_for_a_few_or_many_messages_and_files(ann, agent):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert ann.client.get(thread_url(ann.ticket)).status_code == 200
        return len(queries)

    count()  # once, for what the first page of a session reads
    few = count()
    for n in range(6):
        services.ticket_reply(
            ticket=Ticket.objects.get(pk=ann.ticket.pk),
            actor=agent,
            text=f"Answer {n}",
            attachments=(InboundAttachment(f"log{n}.txt", "text/plain", b"log"),),
        )
        ann.client.post(thread_url(ann.ticket) + "reply/", {"text": f"Thanks {n}"})
    assert count() == few
