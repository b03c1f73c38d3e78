"""An address that hard-bounced, or whose owner marked our mail as spam, is flagged: the
automatic notices stop going to it (each one kept as not sent, and why), agents see the
flag beside the customer, on their page and in the API, and the reply box warns them. A
delay warning shows on the message until the delivery or the bounce it announced.

Reports come through the same doors as in test_delivery_reports: anymail's Postmark
tracking webhook and bounces mailed back to `manage.py ingest_email`."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.channels_ingest.email.test_delivery_reports import (
    CUSTOMER,
    dsn,
    ingest,
    notifications_page,
    postmark_report,
    ticket_page,
)
from tests.factories import LightAgentFactory
from tickets import services
from tickets.inbound import InboundMessage
from tickets.models import (
    Channel,
    ContactKind,
    ContactPoint,
    DeliveryStatus,
    EventKind,
    Message,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

SECRET = "hooks:bounce-s3cret"
FULL = "smtp;452 4.2.2 The email account that you tried to reach is over quota."


@pytest.fixture(autouse=True)
def _mail(settings, celery_eager):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.HELPDESK_CUSTOMER_NOTICES = True


@pytest.fixture
def reply(agent, django_capture_on_commit_callbacks) -> Message:
    """Maria's ticket (acknowledged), and the agent's email reply to her, both sent."""
    inbound = InboundMessage(
        channel=Channel.EMAIL,
        sender_kind=ContactKind.EMAIL,
        sender=CUSTOMER,
        sender_name="Maria Lopez",
        subject="Cannot log in",
        text="My account says it is locked.",
        external_id="<locked-1@example.com>",
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = services.ticket_ingest(inbound=inbound).ticket
        ticket.assignee = agent
        ticket.save(update_fields=["assignee"])
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.ticket_reply(ticket=ticket, actor=agent, text="I unlocked it.")
    sent.refresh_from_db()
    assert sent.delivery_status == DeliveryStatus.SENT
    mail.outbox.clear()
    return sent


def report(client, message: Message, record_type: str = "Bounce", *, at: str, **fields):
    """Postmark's report of `record_type`, stamped `at` (an ISO time on 6 December 2026)."""
    stamp = f"2026-12-06T{at}:00Z"
    return postmark_report(
        client, message, record_type=record_type, BouncedAt=stamp, DeliveredAt=stamp, **fields
    )


def hard_bounce(client, message: Message, at: str = "10:00"):
    response = report(client, message, at=at)
    assert response.status_code == 200
    return response


def resolve(ticket: Ticket, agent, capture) -> None:
    """The agent resolves the ticket: the resolution notice (with the survey) is due."""
    ticket.refresh_from_db()
    with capture(execute=True):
        services.ticket_resolve(ticket=ticket, actor=agent)


def customer_page(client, agent, ticket: Ticket) -> str:
    client.force_login(agent)
    return client.get(f"/agent/customers/{ticket.customer_id}/").content.decode()


def contact() -> ContactPoint:
    return ContactPoint.objects.get(kind=ContactKind.EMAIL, value=CUSTOMER)


def held_notices(ticket: Ticket) -> list[Message]:
    return list(ticket.messages.filter(delivery_status=DeliveryStatus.SUPPRESSED))


# A hard bounce flags the address


def test_a_hard_bounce_flags_the_address_and_the_next_notice_is_not_sent(
    client, agent, reply, django_capture_on_commit_callbacks
):
    hard_bounce(client, reply)

    resolve(reply.ticket, agent, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    [held] = held_notices(reply.ticket)
    assert held.is_automatic
    page = ticket_page(client, agent, reply.ticket)
    assert f"Not sent: {CUSTOMER} bounced on 6 Dec 2026 10:00" in page
    assert "Automatic message not sent: " in page
    # Its history says once that the address bounced, and once that the notice was held.
    kinds = list(reply.ticket.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.CONTACT_UNDELIVERABLE) == 1
    assert kinds.count(EventKind.DELIVERY_HELD) == 1
    assert f"{CUSTOMER} bounced: automatic notices to it stop" in page


def test_the_flag_shows_beside_the_customer_on_the_ticket_their_page_and_the_api(
    client, agent, agent_api, reply
):
    hard_bounce(client, reply)

    flag = "bounced on 6 Dec 2026 10:00: Postmark: The server was unable to deliver"
    assert flag in ticket_page(client, agent, reply.ticket)
    assert flag in customer_page(client, agent, reply.ticket)
    data = agent_api.get(f"/api/v1/customers/{reply.ticket.customer_id}/").json()
    [point] = data["contact_points"]
    assert point["undeliverable"] == "bounced"
    assert point["undeliverable_at"] == "2026-12-06T10:00:00Z"
    assert "550 5.1.1" in point["undeliverable_reason"]


def test_the_reply_box_warns_and_the_agents_reply_is_still_sent(
    client, agent, reply, django_capture_on_commit_callbacks
):
    hard_bounce(client, reply)

    page = ticket_page(client, agent, reply.ticket)
    assert 'id="reply-undeliverable"' in page
    assert f"{CUSTOMER} bounced on 6 Dec 2026 10:00" in page
    assert "your reply is still sent" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/agent/tickets/{reply.ticket_id}/reply/",
            {"text": "Does this address work again?", "channel": "email", "status": ""},
        )
    assert response.status_code == 302
    [sent] = mail.outbox
    assert sent.to == [CUSTOMER]


def test_a_soft_bounce_shows_the_reply_delayed_and_flags_nothing(
    client, agent, reply, django_capture_on_commit_callbacks
):
    """Postmark's SoftBounce is temporary (a full mailbox): Postmark may deliver it yet."""
    report(client, reply, at="10:00", Type="SoftBounce", TypeCode=4096, Details=FULL)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    page = ticket_page(client, agent, reply.ticket)
    assert "delayed: Postmark: The server was unable to deliver" in page
    assert "not delivered" not in page
    assert f"{reply.ticket.reference}: a message" not in notifications_page(client, agent)
    assert not reply.ticket.events.filter(kind=EventKind.DELIVERY_FAILED).exists()
    assert contact().undeliverable == ""
    resolve(reply.ticket, agent, django_capture_on_commit_callbacks)
    [notice] = mail.outbox
    assert "is resolved" in notice.subject
    assert 'id="reply-undeliverable"' not in ticket_page(client, agent, reply.ticket)


@pytest.mark.parametrize(
    ("postmark_type", "details", "flag"),
    [
        ("HardBounce", "smtp;550 5.1.1 The email account does not exist.", "bounced"),
        ("HardBounce", "", "bounced"),  # no server answer: Postmark's word for it
        ("HardBounce", "smtp;421 4.7.0 Try again later.", ""),  # the server said: later
        ("SoftBounce", "smtp;550 5.2.2 Mailbox full.", ""),  # Postmark: soft
        ("BadEmailAddress", "", "bounced"),  # Postmark refuses an invalid address
        ("Blocked", "", ""),  # refused for our reputation, not the address's fault
        ("Transient", "", ""),  # a delay
    ],
)
def test_which_bounces_flag_the_address(client, reply, postmark_type, details, flag):
    report(client, reply, at="10:00", Type=postmark_type, Details=details)

    assert contact().undeliverable == flag


def test_a_bounce_reported_twice_is_recorded_once(client, agent, reply):
    hard_bounce(client, reply)
    hard_bounce(client, reply)

    assert reply.ticket.events.filter(kind=EventKind.CONTACT_UNDELIVERABLE).count() == 1
    assert reply.ticket.events.filter(kind=EventKind.DELIVERY_FAILED).count() == 1


def test_a_bounce_of_another_address_flags_nothing_of_the_customer(client, reply):
    report(client, reply, at="10:00", Email="boss@example.com")

    assert contact().undeliverable == ""


# What clears it


def test_an_agent_clears_the_flag_and_notices_go_again(
    client, agent, reply, django_capture_on_commit_callbacks
):
    hard_bounce(client, reply)
    point = contact()
    client.force_login(agent)

    response = client.post(
        f"/agent/customers/{reply.ticket.customer_id}/contacts/{point.pk}/deliverable/"
    )

    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert f"Automatic notices go to {CUSTOMER} again." in page
    assert "bounced on" not in page
    resolve(reply.ticket, agent, django_capture_on_commit_callbacks)
    [notice] = mail.outbox
    assert notice.to == [CUSTOMER]


def test_who_cleared_the_flag_and_when_is_in_the_tickets_history_and_on_the_customer_page(
    client, agent, reply
):
    agent.first_name, agent.last_name = "Ada", "Agent"
    agent.save()
    hard_bounce(client, reply)
    client.force_login(agent)

    client.post(f"/agent/customers/{reply.ticket.customer_id}/contacts/{contact().pk}/deliverable/")

    [cleared] = reply.ticket.events.filter(kind=EventKind.CONTACT_DELIVERABLE)
    assert cleared.actor == agent
    assert cleared.data["address"] == CUSTOMER
    page = ticket_page(client, agent, reply.ticket)
    assert f"{CUSTOMER} works again, an agent said: automatic notices go to it again" in page
    assert "Ada Agent" in page
    customer = customer_page(client, agent, reply.ticket)
    assert (
        f"Automatic notices go to {CUSTOMER} again: its flag since 6 Dec 2026 10:00 (a bounce) "
        "was cleared." in customer
    )
    assert "Ada Agent" in customer


def test_clearing_the_flag_through_the_api_is_in_the_history_and_once(client, agent_api, reply):
    hard_bounce(client, reply)
    url = (
        f"/api/v1/customers/{reply.ticket.customer_id}/contact-points/{contact().pk}/undeliverable/"
    )

    agent_api.delete(url)
    agent_api.delete(url)  # cleared already: nothing more to say

    [cleared] = reply.ticket.events.filter(kind=EventKind.CONTACT_DELIVERABLE)
    assert cleared.actor == reply.author_user
    assert reply.ticket.customer.notes.count() == 1


def test_a_light_agent_cannot_clear_the_flag(client, reply):
    hard_bounce(client, reply)
    light = LightAgentFactory(username="light", tiers=[1])
    browser = Client()
    browser.force_login(light)

    browser.post(
        f"/agent/customers/{reply.ticket.customer_id}/contacts/{contact().pk}/deliverable/"
    )

    assert contact().undeliverable == "bounced"
    page = browser.get(f"/agent/customers/{reply.ticket.customer_id}/").content.decode()
    assert "/deliverable/" not in page


def test_the_flag_cannot_be_cleared_through_another_customers_page(client, agent, reply):
    hard_bounce(client, reply)
    other = services.customer_create(
        name="Someone else", contacts=[(ContactKind.EMAIL, "else@example.com")]
    )
    client.force_login(agent)

    client.post(f"/agent/customers/{other.pk}/contacts/{contact().pk}/deliverable/")

    assert contact().undeliverable == "bounced"


def test_an_agent_clears_the_flag_through_the_api(client, agent_api, reply):
    hard_bounce(client, reply)
    url = (
        f"/api/v1/customers/{reply.ticket.customer_id}/contact-points/{contact().pk}/undeliverable/"
    )

    response = agent_api.delete(url)

    assert response.status_code == 200
    assert response.json()["undeliverable"] == ""
    assert contact().undeliverable == ""


def test_the_api_refuses_a_light_agent_and_another_customers_contact(client, reply):
    hard_bounce(client, reply)
    light = APIClient()
    light.force_authenticate(LightAgentFactory(username="light", tiers=[1]))
    other = services.customer_create(
        name="Someone else", contacts=[(ContactKind.EMAIL, "else@example.com")]
    )
    mine = f"/api/v1/customers/{reply.ticket.customer_id}/contact-points/{contact().pk}/"
    theirs = f"/api/v1/customers/{other.pk}/contact-points/{contact().pk}/"

    assert light.delete(f"{mine}undeliverable/").status_code == 403
    agent = APIClient()
    agent.force_authenticate(reply.author_user)
    assert agent.delete(f"{theirs}undeliverable/").status_code == 404
    assert contact().undeliverable == "bounced"


def test_a_later_delivery_to_the_address_clears_the_flag(
    client, agent, reply, django_capture_on_commit_callbacks
):
    hard_bounce(client, reply, at="10:00")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.ticket_reply(ticket=reply.ticket, actor=agent, text="Try this.")
    again.refresh_from_db()

    report(client, again, "Delivery", at="10:30")

    assert contact().undeliverable == ""
    assert "bounced on" not in ticket_page(client, agent, reply.ticket)
    assert reply.ticket.events.filter(kind=EventKind.CONTACT_DELIVERABLE).count() == 1


def test_an_older_delivery_reported_late_leaves_the_flag(
    client, agent, reply, django_capture_on_commit_callbacks
):
    """Webhooks come in any order: the provider's times decide, not their arrival."""
    with django_capture_on_commit_callbacks(execute=True):
        again = services.ticket_reply(ticket=reply.ticket, actor=agent, text="Try this.")
    again.refresh_from_db()
    hard_bounce(client, again, at="10:30")

    report(client, reply, "Delivery", at="10:00")

    assert contact().undeliverable == "bounced"
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED


def test_a_delivery_after_the_bounce_of_the_same_email_does_not_unfail_it(client, reply):
    hard_bounce(client, reply, at="10:00")

    report(client, reply, "Delivery", at="09:59")

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert contact().undeliverable == "bounced"


def test_a_hard_bounce_after_the_delivery_fails_the_reply_and_flags_the_address(
    client, agent, reply
):
    """The receiving server took the email, then gave it back (an asynchronous bounce)."""
    report(client, reply, "Delivery", at="10:00")

    hard_bounce(client, reply, at="10:05")

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    page = ticket_page(client, agent, reply.ticket)
    assert "not delivered: Postmark: The server was unable to deliver your message" in page
    assert f"{CUSTOMER} bounced: automatic notices to it stop" in page
    assert contact().undeliverable == "bounced"
    told = notifications_page(client, agent)
    assert f"{reply.ticket.reference}: a message to the customer was not delivered" in told
    assert reply.ticket.events.filter(kind=EventKind.DELIVERY_FAILED).count() == 1


def test_a_permanent_failure_mailed_back_after_the_delivery_fails_the_reply(
    tmp_path, client, agent, reply
):
    """A bounce mailed back is dated when it comes (now): the delivery was an hour before."""
    an_hour_ago = (timezone.now() - timedelta(hours=1)).isoformat()
    postmark_report(client, reply, record_type="Delivery", DeliveredAt=an_hour_ago)

    ingest(tmp_path, dsn(reply.external_id))

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert contact().undeliverable == "bounced"


def test_a_soft_bounce_after_the_delivery_changes_nothing(client, agent, reply):
    report(client, reply, "Delivery", at="10:00")

    report(client, reply, at="10:05", Type="SoftBounce", TypeCode=4096, Details=FULL)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED
    page = ticket_page(client, agent, reply.ticket)
    assert "not delivered" not in page
    assert "delayed:" not in page
    assert contact().undeliverable == ""


def test_an_older_bounce_reported_late_does_not_flag(client, reply, agent):
    report(client, reply, "Delivery", at="10:30")

    hard_bounce(client, reply, at="10:00")

    assert contact().undeliverable == ""
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED  # delivered after it bounced


def test_the_customer_writing_again_does_not_clear_the_flag(
    tmp_path, client, agent, reply, django_capture_on_commit_callbacks
):
    hard_bounce(client, reply)
    raw = (
        f"From: Maria Lopez <{CUSTOMER}>\r\n"
        "To: support@localhost\r\n"
        "Subject: Another question\r\n"
        "Message-ID: <another-1@example.com>\r\n"
        "\r\n"
        "Can I change my plan?\r\n"
    ).encode()

    with django_capture_on_commit_callbacks(execute=True):
        said = ingest(tmp_path, raw)

    assert said.endswith(" new")
    assert contact().undeliverable == "bounced"
    new = Ticket.objects.exclude(pk=reply.ticket_id).get()
    assert mail.outbox == []  # its acknowledgement is held too
    [held] = held_notices(new)
    assert held.delivery_error.startswith(f"Not sent: {CUSTOMER} bounced on")


# Bounces mailed back


def test_a_permanent_bounce_mailed_back_flags_the_address(tmp_path, client, agent, reply):
    ingest(tmp_path, dsn(reply.external_id))

    point = contact()
    assert point.undeliverable == "bounced"
    assert "550 5.1.1" in point.undeliverable_reason
    assert "bounced on" in ticket_page(client, agent, reply.ticket)


def test_a_temporary_failure_mailed_back_fails_the_reply_but_flags_nothing(tmp_path, reply):
    ingest(tmp_path, dsn(reply.external_id, status="4.2.2"))

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert contact().undeliverable == ""


# Complaints


def test_a_complaint_is_recorded_and_stops_notices_without_telling_anyone(
    client, agent, reply, django_capture_on_commit_callbacks
):
    report(client, reply, "SpamComplaint", at="11:00", Type="SpamComplaint", TypeCode=512)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT  # it was delivered: then reported
    assert contact().undeliverable == "complained"
    page = ticket_page(client, agent, reply.ticket)
    assert f"{CUSTOMER} marked our email as spam: automatic notices to it stop" in page
    assert "marked our email as spam on 6 Dec 2026 11:00" in page
    assert 'id="reply-undeliverable"' in page
    assert "marked our email as spam" in customer_page(client, agent, reply.ticket)
    assert "spam" not in notifications_page(client, agent)
    resolve(reply.ticket, agent, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert len(held_notices(reply.ticket)) == 1


def test_a_later_delivery_does_not_clear_a_complaint(client, agent, reply):
    report(client, reply, "SpamComplaint", at="11:00", Type="SpamComplaint", TypeCode=512)

    report(client, reply, "Delivery", at="12:00")

    assert contact().undeliverable == "complained"


# Delays


def test_a_delay_the_provider_reports_shows_on_the_reply_until_it_is_delivered(
    client, agent, reply
):
    report(client, reply, at="10:00", Type="Transient", TypeCode=2, Details=FULL)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    page = ticket_page(client, agent, reply.ticket)
    assert "delayed: Postmark: The server was unable to deliver" in page
    assert "452 4.2.2" in page
    assert contact().undeliverable == ""

    report(client, reply, "Delivery", at="10:20")

    page = ticket_page(client, agent, reply.ticket)
    assert "delayed:" not in page
    assert "delivered" in page


def test_a_delay_reported_after_the_delivery_changes_nothing(client, agent, reply):
    report(client, reply, "Delivery", at="10:20")

    report(client, reply, at="10:00", Type="Transient", TypeCode=2, Details=FULL)

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.DELIVERED
    assert "delayed:" not in ticket_page(client, agent, reply.ticket)


def test_a_bounce_after_a_delay_fails_the_reply(client, agent, reply):
    report(client, reply, at="10:00", Type="Transient", TypeCode=2, Details=FULL)

    hard_bounce(client, reply, at="12:00")

    page = ticket_page(client, agent, reply.ticket)
    assert "delayed:" not in page
    assert "not delivered: Postmark:" in page


def test_a_delay_warning_mailed_back_shows_on_the_reply(tmp_path, client, agent, reply):
    ingest(tmp_path, dsn(reply.external_id, action="delayed", status="4.4.1"))

    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    page = ticket_page(client, agent, reply.ticket)
    assert f"delayed: {CUSTOMER}: 550 4.4.1" in page


# In German


def test_a_german_agent_reads_the_flag_in_german(client, agent, reply):
    agent.agent_profile.language = "de"
    agent.agent_profile.save()
    hard_bounce(client, reply)

    client.force_login(agent)
    page = client.get(
        f"/agent/tickets/{reply.ticket_id}/", HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()

    assert "unzustellbar" in page
    assert TicketEvent.objects.filter(kind=EventKind.CONTACT_UNDELIVERABLE).exists()
