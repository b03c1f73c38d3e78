"""The customer's language: detected from their browser or first message, kept on the
customer (their own choice wins), and used for every automatic message to them."""

from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from channels_ingest.email.parse import parse_email
from knowledge.services import article_translation_save
from tests.factories import CustomerFactory, UserFactory
from tests.tickets.test_routing import route
from tickets import services
from tickets.models import ContactKind, Customer, Message, MessageKind, Ticket
from tickets.problems.telling import fixed_text
from tickets.services.notices import customer_notice

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parents[1] / "channels_ingest" / "email" / "golden"
GERMAN_MAIL = (
    "From: Jutta Weber <jutta@example.de>\r\n"
    "To: support@localhost\r\n"
    "Subject: Drucker druckt nicht\r\n"
    "Message-ID: <drucker-1@example.de>\r\n"
    "Date: Thu, 9 Jan 2025 08:47:09 +0100\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    "Guten Tag, seit dem Update druckt der Drucker im 2. Stock nicht mehr. "
    "Können Sie mir bitte helfen?\r\n"
).encode()


@pytest.fixture(autouse=True)
def _notices_on(settings):
    settings.HELPDESK_CUSTOMER_NOTICES = True


def _automatic(ticket: Ticket) -> Message:
    return ticket.messages.get(kind=MessageKind.OUTBOUND, is_automatic=True)


def test_an_email_from_a_german_customer_gets_a_german_acknowledgement():
    result = services.ticket_ingest(inbound=parse_email(GERMAN_MAIL))
    ticket = result.ticket
    assert Customer.objects.get(pk=ticket.customer_id).language == "de"
    ack = _automatic(ticket)
    assert ack.subject == "Wir haben Ihre Anfrage erhalten: Drucker druckt nicht"
    assert ack.body_text.startswith("Guten Tag Jutta Weber,\n\nwir haben Ihre Anfrage")
    assert f"die Referenz {ticket.reference} gegeben" in ack.body_text
    assert "We received" not in ack.body_text


def test_a_real_german_mail_client_message_is_answered_in_german():
    ticket = services.ticket_ingest(inbound=parse_email((GOLDEN / "german_reply.eml").read_bytes()))
    assert ticket.ticket.customer.language == "de"
    assert _automatic(ticket.ticket).subject.startswith("Wir haben Ihre Anfrage erhalten")


def test_an_english_email_is_answered_in_english_and_leaves_the_language_blank(inbound):
    result = services.ticket_ingest(
        inbound=inbound(subject="Printer", text="The printer on the second floor is broken.")
    )
    assert result.ticket.customer.language == ""
    assert _automatic(result.ticket).subject.startswith("We received your request")


def test_the_content_language_header_wins_over_the_text():
    raw = GERMAN_MAIL.replace(b"Content-Type:", b"Content-Language: en-GB\r\nContent-Type:")
    result = services.ticket_ingest(inbound=parse_email(raw))
    assert parse_email(raw).language == "en-GB"
    assert _automatic(result.ticket).subject.startswith("We received your request")


def test_a_known_language_is_kept_whatever_the_next_message_is_written_in(inbound):
    customer = CustomerFactory(language="en")
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="kept@example.com"
    )
    result = services.ticket_ingest(
        inbound=inbound(
            sender="kept@example.com",
            subject="Hilfe",
            text="Ich kann mich nicht anmelden, bitte helfen Sie mir.",
        )
    )
    assert Customer.objects.get(pk=customer.pk).language == "en"
    assert _automatic(result.ticket).subject.startswith("We received your request")


def test_a_batch_of_mail_keeps_each_new_customers_language(inbound):
    customer = CustomerFactory(language="")
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="known@example.com"
    )
    results = services.ticket_ingest_many(
        [
            inbound(
                sender="neu@example.de",
                subject="Rechnung",
                text="Meine Rechnung ist falsch, bitte prüfen Sie das.",
            ),
            inbound(
                sender="new@example.com",
                subject="Invoice",
                text="My invoice is wrong, can you check it?",
            ),
            inbound(
                sender="known@example.com",
                subject="Konto",
                text="Ich habe mein Passwort vergessen und kann mich nicht anmelden.",
            ),
        ]
    )
    languages = [Customer.objects.get(pk=r.ticket.customer_id).language for r in results]
    assert languages == ["de", "", "de"]
    subjects = [_automatic(r.ticket).subject for r in results]
    assert subjects[0].startswith("Wir haben") and subjects[1].startswith("We received")
    assert subjects[2].startswith("Wir haben")


def test_the_contact_form_keeps_the_browsers_language_and_confirms_in_it(
    client, celery_eager, django_capture_on_commit_callbacks
):
    form = {
        "name": "Dana Scully",
        "email": "dana@example.org",
        "subject": "Export is empty",
        "description": "The export shows a blank page.",  # English text: the browser wins
        "urgency": "normal",
        "website": "",
    }
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            "/support/new/", form, follow=True, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9"
        ).content.decode()
    assert "Vielen Dank \u2013 wir haben Ihre Anfrage erhalten" in page
    ticket = Ticket.objects.get()
    assert ticket.customer.language == "de"
    (confirmation,) = mail.outbox
    assert confirmation.subject.startswith("Wir haben Ihre Anfrage erhalten: Export is empty")
    assert "Wenn Sie etwas ergänzen möchten" in confirmation.body


def test_the_resolution_notice_and_its_survey_link_are_in_the_customers_language(
    open_ticket, agent
):
    ticket = open_ticket()
    Customer.objects.filter(pk=ticket.customer_id).update(language="de")
    ticket.refresh_from_db()
    with translation.override("en"):
        services.ticket_resolve(ticket=ticket, actor=agent)
        # The page (or the worker) that sent it stays in its own language.
        assert translation.get_language() == "en"
    notice = ticket.messages.filter(is_automatic=True).order_by("-id").first()
    assert notice.subject.startswith(f"Ihre Anfrage {ticket.reference} ist gelöst")
    assert "Wie zufrieden waren Sie? Bewerten Sie unsere Hilfe: http" in notice.body_text


def test_a_customer_with_no_name_is_greeted_in_their_language(open_ticket):
    ticket = open_ticket(sender_name="")
    asked = ticket.messages.get(kind=MessageKind.INBOUND)
    ticket.customer.language = "de"
    notice = customer_notice(ticket=ticket, kind="received", answering=asked)
    assert notice is not None and notice.body_text.startswith("Guten Tag zusammen,")
    ticket.customer.language = ""
    notice = customer_notice(ticket=ticket, kind="received", answering=asked)
    assert notice is not None and notice.body_text.startswith("Hello there,")


def test_tier_0s_answer_is_framed_in_the_customers_language(open_ticket, kb_answer):
    article_translation_save(
        article=kb_answer,
        language="de",
        title="Etwas kaputt? Anleitung bei Problemen",
        summary="Was tun, wenn etwas kaputt ist.",
        body_markdown="Starten Sie es neu.",
    )
    ticket = open_ticket(
        tier_level=0, subject="Etwas ist kaputt", text="Es ist kaputt, was kann ich tun?"
    )
    assert ticket.customer.language == "de"
    assert route(ticket) == "waiting in self-service"
    answers = ticket.messages.filter(is_automatic=True, subject__startswith="Antworten")
    assert answers.count() == 1, list(ticket.messages.values_list("subject", flat=True))
    text = answers.get().body_text
    assert f"Während wir uns Ihre Anfrage {ticket.reference} ansehen" in text
    assert "Andernfalls müssen Sie nichts tun" in text
    assert "- Etwas kaputt? Anleitung bei Problemen: http" in text  # the German title


def test_the_sign_in_link_mail_is_in_the_customers_language(
    client, celery_eager, django_capture_on_commit_callbacks
):
    user = UserFactory(username="jutta")
    customer = CustomerFactory(user=user, language="de")
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="jutta@example.de"
    )
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/support/login/", {"email": "jutta@example.de"})
    (message,) = mail.outbox
    assert message.subject == "Ihr Anmeldelink"
    assert "mit diesem Link melden Sie sich an" in message.body


def test_the_known_issue_fixed_notice_is_written_in_the_language_it_is_asked_in():
    from tickets.models import KnownIssue, Problem

    problem = Problem(title="Login outage", public_explanation="A certificate expired.")
    issue = KnownIssue(problem=problem, title="Sign-in fails", summary="")
    with translation.override("de"):
        text = fixed_text(issue)
    assert text.startswith("Guten Tag,\n\nSie haben uns gebeten")
    assert "Es ist jetzt behoben. A certificate expired." in text
