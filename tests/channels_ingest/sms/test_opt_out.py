"""A customer who texts STOP (or another of Twilio's opt-out keywords) gets no more texts
from the desk: not the automatic ones, not an agent's reply, not a known issue's notice,
until they text START. Agents see why, beside the number and on the reply that was not
sent. Through the doors: Twilio's signed webhook, the agent's reply, the delivery task."""

import pytest

from channels_ingest.models import InboundItem, InboundStatus
from tests.channels_ingest.email.test_delivery_reports import ticket_page
from tests.channels_ingest.sms.twilio_helpers import SMS_URL, post, sms_params
from tickets import services
from tickets.models import (
    ContactKind,
    ContactPoint,
    DeliveryStatus,
    Message,
    MessageKind,
    Ticket,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("twilio_settings")]

NUMBER = "+14155550123"


@pytest.fixture(autouse=True)
def _notices(settings, celery_eager):
    settings.HELPDESK_CUSTOMER_NOTICES = True


@pytest.fixture
def keyword_in(client, django_capture_on_commit_callbacks):
    """A signed inbound text, processed (and what it queued sent) as in production: the item
    it was stored as (a keyword may land on no ticket)."""
    count = iter(range(100, 10_000))

    def deliver(body: str, sender: str = NUMBER, **extra: str) -> InboundItem:
        sid = f"SM{next(count)}"
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, SMS_URL, sms_params(sid, sender, body, **extra))
        assert response.status_code == 200
        item = InboundItem.objects.get(channel="sms", idempotency_key=sid)
        assert item.status == InboundStatus.PROCESSED, item.error
        return item

    return deliver


@pytest.fixture
def text_in(keyword_in):
    """A signed inbound text, processed: the message it became."""

    def deliver(body: str, sender: str = NUMBER, **extra: str) -> Message:
        return Message.objects.get(pk=keyword_in(body, sender, **extra).message_id)

    return deliver


def reply(agent, message: Message, capture, text: str = "Did that help?") -> Message:
    with capture(execute=True):
        sent = services.ticket_reply(ticket=message.ticket, actor=agent, text=text)
    sent.refresh_from_db()
    return sent


def phone() -> ContactPoint:
    return ContactPoint.objects.get(kind=ContactKind.PHONE, value=NUMBER)


def test_after_stop_an_agents_reply_is_not_sent_and_says_why(
    text_in, agent, sms_outbox, django_capture_on_commit_callbacks
):
    first = text_in("My router keeps rebooting")
    text_in("STOP")
    sms_outbox.clear()

    sent = reply(agent, first, django_capture_on_commit_callbacks)

    assert sms_outbox == []
    assert sent.delivery_status == DeliveryStatus.FAILED
    assert f"{NUMBER} replied STOP" in sent.delivery_error
    assert "START" in sent.delivery_error


@pytest.mark.parametrize("keyword", ["STOP", "stop", " Stop. ", "UNSUBSCRIBE", "cancel", "quit"])
def test_no_automatic_text_answers_a_stop(keyword_in, sms_outbox, keyword):
    keyword_in(keyword)

    assert sms_outbox == []
    assert phone().undeliverable == "opted_out"


def test_twilios_advanced_opt_out_type_counts_whatever_the_keyword(keyword_in, sms_outbox):
    """A Messaging Service's own opt-out keywords (here in French) come with OptOutType."""
    keyword_in("ARRET", OptOutType="STOP")

    assert phone().undeliverable == "opted_out"
    assert sms_outbox == []


def test_a_sentence_with_stop_in_it_is_no_opt_out(
    text_in, agent, sms_outbox, django_capture_on_commit_callbacks
):
    first = text_in("Stop charging my card twice please")

    sent = reply(agent, first, django_capture_on_commit_callbacks)

    assert phone().undeliverable == ""
    assert sent.delivery_status == DeliveryStatus.SENT


def test_start_lets_texts_go_again(text_in, agent, sms_outbox, django_capture_on_commit_callbacks):
    first = text_in("My router keeps rebooting")
    text_in("STOP")
    text_in("START")
    sms_outbox.clear()

    sent = reply(agent, first, django_capture_on_commit_callbacks)

    assert sent.delivery_status == DeliveryStatus.SENT
    assert [sms.to for sms in sms_outbox] == [NUMBER]


def test_the_ticket_page_says_the_number_opted_out(client, text_in, agent):
    first = text_in("My router keeps rebooting")
    text_in("STOP")

    page = ticket_page(client, agent, first.ticket)

    assert 'id="reply-undeliverable"' in page
    assert f"{NUMBER} replied STOP" in page
    assert "until they text START" in page


def test_the_stop_is_kept_on_the_customers_ticket(text_in):
    first = text_in("My router keeps rebooting")

    stop = text_in("STOP")

    assert stop.ticket_id == first.ticket_id
    assert stop.kind == MessageKind.INBOUND
    assert stop.body_text == "STOP"


def test_an_agent_cannot_undo_a_stop_only_the_customer_can(client, agent, agent_api, text_in):
    first = text_in("My router keeps rebooting")
    text_in("STOP")
    customer_id = first.ticket.customer_id

    response = agent_api.delete(
        f"/api/v1/customers/{customer_id}/contact-points/{phone().pk}/undeliverable/"
    )

    assert response.status_code == 400
    assert "texting START" in str(response.json())
    assert phone().undeliverable == "opted_out"
    client.force_login(agent)
    page = client.get(f"/agent/customers/{customer_id}/").content.decode()
    assert "replied STOP on" in page
    assert "/deliverable/" not in page


def test_a_verification_link_is_not_texted_to_an_opted_out_number(keyword_in, sms_outbox):
    from channels_ingest.tasks import send_sms_verification

    keyword_in("STOP")

    assert send_sms_verification.delay(phone().pk).get() is False
    assert sms_outbox == []


def test_a_stop_processed_in_a_batch_with_other_texts_flags_the_number(client, sms_outbox):
    """Under load the worker takes the waiting texts together (the batch way)."""
    from channels_ingest import pipeline

    post(client, SMS_URL, sms_params("SM900", "+14155550999", "My invoice is wrong"))
    post(client, SMS_URL, sms_params("SM901", NUMBER, "STOP"))
    post(client, SMS_URL, sms_params("SM902", "+14155550888", "Where is my parcel?"))

    assert pipeline.process_waiting() == 3

    assert phone().undeliverable == "opted_out"
    statuses = set(InboundItem.objects.values_list("status", flat=True))
    assert statuses == {InboundStatus.PROCESSED}


def customer_page(client, agent) -> str:
    client.force_login(agent)
    return client.get(f"/agent/customers/{phone().customer_id}/").content.decode()


@pytest.mark.parametrize("keyword", ["STOP", "unsubscribe", "ARRET"])
def test_a_stop_from_a_number_without_an_open_ticket_opens_no_ticket(
    client, agent, keyword_in, sms_outbox, keyword
):
    extra = {"OptOutType": "STOP"} if keyword == "ARRET" else {}

    keyword_in(keyword, **extra)

    assert not Ticket.objects.exists()
    assert sms_outbox == []
    assert phone().undeliverable == "opted_out"
    page = customer_page(client, agent)
    assert f"Texted {keyword} from {NUMBER}" in page
    assert "replied STOP on" in page


def test_a_start_from_a_number_without_an_open_ticket_opens_no_ticket_and_is_not_answered(
    client, agent, keyword_in, sms_outbox
):
    keyword_in("STOP")

    keyword_in("START")

    assert not Ticket.objects.exists()
    assert sms_outbox == []
    assert phone().undeliverable == ""
    page = customer_page(client, agent)
    assert f"Texted START from {NUMBER}" in page
    assert "replied STOP on" not in page


def test_a_start_after_the_customers_ticket_closed_opens_no_follow_up(
    agent, text_in, keyword_in, sms_outbox
):
    first = text_in("My router keeps rebooting")
    text_in("STOP")
    ticket = first.ticket
    services.ticket_close(ticket=ticket, actor=agent)
    sms_outbox.clear()

    keyword_in("START")

    assert list(Ticket.objects.values_list("pk", flat=True)) == [ticket.pk]
    assert sms_outbox == []
    assert phone().undeliverable == ""


@pytest.mark.parametrize(
    ("body", "extra"), [("HELP", {}), ("info", {}), ("AIDE", {"OptOutType": "HELP"})]
)
def test_twilio_answers_help_so_the_desk_does_not(text_in, sms_outbox, body, extra):
    """Twilio replies to HELP and INFO on long codes and toll-free numbers, and to a
    Messaging Service's own help keywords (Advanced Opt-Out, OptOutType=HELP)."""
    message = text_in(body, **extra)

    assert message.ticket.messages.count() == 1  # agents see it; no acknowledgement
    assert sms_outbox == []


def test_help_to_a_short_code_that_twilio_does_not_answer_is_acknowledged(text_in, sms_outbox):
    text_in("HELP", To="12345")

    assert [sms.to for sms in sms_outbox] == [NUMBER]
