"""The portal's contact form: a ticket, a confirmation email, no spam, nothing lost."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.outages import database_refusing
from tickets.models import (
    Attachment,
    Channel,
    ContactPoint,
    MessageKind,
    Ticket,
    Undeliverable,
)

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def form(**overrides):
    data = {
        "name": "Dana Scully",
        "email": "Dana@Example.org",
        "subject": "Cannot export reports",
        "description": "Clicking Export shows a blank page since this morning.",
        "urgency": "high",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()


def test_form_page_renders_with_csrf_and_labels(client):
    page = client.get("/support/new/").content.decode()
    assert "csrfmiddlewaretoken" in page
    assert '<label for="id_email">Your email</label>' in page
    assert "/static/css/helpdesk.css" in page


def test_submitting_opens_a_ticket_and_confirms_by_email(
    client, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    screenshot = SimpleUploadedFile("../../screen shot.jpg", PNG, content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/support/new/", form(attachments=[screenshot]), follow=True)

    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.priority, ticket.subject) == (
        Channel.WEB,
        "high",
        "Cannot export reports",
    )
    assert ticket.customer.name == "Dana Scully"
    assert ticket.customer.contact_points.get().value == "dana@example.org"
    attachment = Attachment.objects.get()
    assert (attachment.filename, attachment.content_type) == ("screen shot.jpg", "image/png")
    page = response.content.decode()
    assert ticket.reference in page
    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert confirmation.to == ["dana@example.org"]
    assert ticket.reference in confirmation.subject
    assert ticket.reference in confirmation.body
    assert confirmation.extra_headers["Auto-Submitted"] == "auto-replied"


CONFIRMED = "We sent a confirmation to your email address"


def test_the_received_page_says_a_confirmation_was_sent_when_one_was(
    client, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/support/new/", form(), follow=True).text
    assert CONFIRMED in page
    assert len(mail.outbox) == 1


def test_the_received_page_promises_no_confirmation_when_notices_are_off(
    client, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = False
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/support/new/", form(), follow=True).text
    assert Ticket.objects.get().reference in page
    assert CONFIRMED not in page
    assert "We did not send a confirmation email" in page
    assert mail.outbox == []


def test_the_received_page_promises_no_confirmation_to_an_undeliverable_address(
    client, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    client.post("/support/new/", form())  # the customer, and their address, are known
    ContactPoint.objects.filter(value="dana@example.org").update(
        undeliverable=Undeliverable.BOUNCED
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/support/new/", form(subject="Still blank"), follow=True).text
    assert Ticket.objects.get(subject="Still blank").reference in page
    assert CONFIRMED not in page
    assert "We did not send a confirmation email" in page
    assert mail.outbox == []


def test_missing_fields_are_explained_and_nothing_is_stored(client):
    response = client.post("/support/new/", form(email="not-an-address", description=""))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert "This field is required." in page
    assert 'value="Cannot export reports"' in page  # what was typed is kept
    assert not Ticket.objects.exists()


def test_oversized_attachment_is_refused(client, settings):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    big = SimpleUploadedFile("log.txt", b"x" * 11, content_type="text/plain")
    response = client.post("/support/new/", form(attachments=[big]))
    assert "log.txt is larger than 10" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_filled_honeypot_is_held_for_an_admin_who_releases_it(client, admin_user):
    from channels_ingest.models import InboundItem, InboundStatus

    log = SimpleUploadedFile("export.log", b"blank page at 09:12", content_type="text/plain")
    response = client.post("/support/new/", form(website="http://my.example", attachments=[log]))
    assert response.status_code == 302
    assert not Ticket.objects.exists()
    item = InboundItem.objects.get()
    assert item.status == InboundStatus.HELD and "suspected spam" in item.error

    client.force_login(admin_user)
    changelist = "/admin/channels_ingest/inbounditem/"
    assert "Held as suspected spam" in client.get(changelist, {"status": "held"}).content.decode()
    response = client.post(
        changelist, {"action": "release_held", "_selected_action": [item.pk]}, follow=True
    )
    ticket = Ticket.objects.get()
    assert f"1 request(s) released: {ticket.reference}" in response.content.decode()
    assert (ticket.subject, ticket.priority, ticket.channel) == (
        "Cannot export reports", "high", Channel.WEB,
    )  # fmt: skip
    assert ticket.messages.get().body_text.startswith("Clicking Export shows a blank page")
    assert [a.filename for a in Attachment.objects.all()] == ["export.log"]
    item.refresh_from_db()
    assert (item.status, item.ticket_id) == (InboundStatus.PROCESSED, ticket.pk)
    # Released once: a second release opens nothing more.
    client.post(changelist, {"action": "release_held", "_selected_action": [item.pk]})
    assert Ticket.objects.count() == 1


def test_the_honeypot_is_out_of_the_tab_order_and_autofill_and_help_texts_are_linked(client):
    import re

    page = client.get("/support/new/").content.decode()
    honeypot = re.search(r'<input[^>]*name="website"[^>]*>', page).group(0)
    assert 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    for described in re.findall(r'aria-describedby="([^"]+)"', page):
        assert f'id="{described}"' in page, described


def test_rate_limit_per_address(client, settings):
    settings.HELPDESK_WEB_FORM_PER_10_MINUTES = 2
    for _ in range(2):
        assert client.post("/support/new/", form()).status_code == 302
    response = client.post("/support/new/", form())
    assert response.status_code == 429
    assert "several requests in a short time" in response.content.decode()
    assert Ticket.objects.count() == 2


def test_clients_are_counted_by_the_address_the_project_trusts(client, settings, monkeypatch):
    # Behind a trusted proxy every request comes from the proxy's address: the limit per
    # client counts the address helpdesk.ratelimit.client_address reports, as every limit.
    from channels_ingest.web import views

    settings.HELPDESK_WEB_FORM_PER_10_MINUTES = 1
    monkeypatch.setattr(views, "client_address", lambda request: request.META["HTTP_X_CLIENT"])
    for n in range(3):
        sent = form(email=f"person{n}@example.org")
        assert client.post("/support/new/", sent, HTTP_X_CLIENT=f"192.0.2.{n}").status_code == 302
    refused = client.post(
        "/support/new/", form(email="last@example.org"), HTTP_X_CLIENT="192.0.2.0"
    )
    assert refused.status_code == 429
    assert Ticket.objects.count() == 3


def test_csrf_is_required():
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/support/new/", form())
    assert response.status_code == 403
    assert not Ticket.objects.exists()


def _rendered_form(client):
    """The form's fields as the page renders them (its hidden submission id included)."""
    page = client.get("/support/new/")
    return {"submission": page.context["form"]["submission"].value()}


def test_a_double_submit_opens_one_ticket_and_sends_one_confirmation(
    client, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.HELPDESK_CUSTOMER_NOTICES = True
    sent = form(**_rendered_form(client))
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/support/new/", sent, follow=True)
        second = client.post("/support/new/", sent, follow=True)

    ticket = Ticket.objects.get()
    assert ticket.messages.filter(kind=MessageKind.INBOUND).count() == 1
    assert ticket.reference in first.text and ticket.reference in second.text
    assert len(mail.outbox) == 1


def test_each_rendered_form_is_a_request_of_its_own(client):
    for _ in range(2):
        assert client.post("/support/new/", form(**_rendered_form(client))).status_code == 302
    assert Ticket.objects.count() == 2


# --- Faults: what the customer sees, and that nothing is lost or written twice -----------


def test_a_database_outage_keeps_what_was_typed_and_sending_again_opens_one_ticket(client):
    sent = form(**_rendered_form(client))
    with database_refusing('INSERT INTO "tickets_message"'):
        response = client.post("/support/new/", sent)

    assert response.status_code == 503
    assert "could not take your request just now" in response.text
    assert "Clicking Export shows a blank page since this morning.</textarea>" in response.text
    assert not Ticket.objects.exists()

    assert client.post("/support/new/", response.context["form"].data).status_code == 302
    assert client.post("/support/new/", sent).status_code == 302  # and once more, already done
    assert Ticket.objects.count() == 1


def test_attachments_are_asked_for_again_after_an_outage(client):
    log = SimpleUploadedFile("export.log", b"blank page at 09:12", content_type="text/plain")
    with database_refusing('INSERT INTO "tickets_message"'):
        response = client.post("/support/new/", form(attachments=[log]))
    assert response.status_code == 503
    assert "Please attach your files again." in response.text


def test_the_form_is_taken_while_the_cache_is_down(client, settings):
    # Redis (the rate limits' counters) unreachable: the request is taken, not refused.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.post("/support/new/", form(), follow=True)
    ticket = Ticket.objects.get()
    assert ticket.reference in response.text


def test_attachment_refusals_are_said_in_the_customers_language(client, settings):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    german = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
    big = SimpleUploadedFile("log.txt", b"x" * 11, content_type="text/plain")
    page = client.post("/support/new/", form(attachments=[big]), **german).text
    assert "log.txt ist größer als 10\xa0Bytes." in page
    many = [SimpleUploadedFile(f"{n}.txt", b"x", content_type="text/plain") for n in range(11)]
    page = client.post("/support/new/", form(attachments=many), **german).text
    assert "Hängen Sie höchstens 10 Dateien an." in page
    assert not Ticket.objects.exists()


def test_files_larger_together_than_the_upload_limit_are_refused_and_the_text_kept(
    client, settings
):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    settings.HELPDESK_MAX_UPLOAD_BYTES = 15
    logs = [SimpleUploadedFile(f"{n}.log", b"x" * 8, content_type="text/plain") for n in (1, 2)]
    german = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}

    response = client.post("/support/new/", form(attachments=logs), **german)

    page = response.text
    assert "Diese Dateien sind zusammen größer als 15\xa0Bytes" in page
    assert "Clicking Export shows a blank page since this morning.</textarea>" in page
    assert not Ticket.objects.exists()
    # One alone is within the limits.
    log = SimpleUploadedFile("1.log", b"x" * 8, content_type="text/plain")
    assert client.post("/support/new/", form(attachments=[log])).status_code == 302


# --- A signed-in customer ----------------------------------------------------------------


def test_a_signed_in_customer_finds_their_address_filled_in_and_the_request_in_their_list(
    client, customer_user
):
    client.force_login(customer_user)
    page = client.get("/support/new/")
    assert page.context["form"]["email"].value() == "portal@example.com"

    assert client.post("/support/new/", form(email="Portal@Example.com")).status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.reference in client.get("/support/tickets/").text


def test_a_signed_in_customer_writing_from_an_address_not_theirs_is_told_and_nothing_opened(
    client, customer_user
):
    # Else the request went to another (or a new) customer, never shown in "My requests".
    client.force_login(customer_user)
    response = client.post("/support/new/", form(email="dana@example.org"))
    assert response.status_code == 200
    assert (
        "You are signed in with portal@example.com: write from that address, or sign out to "
        "write from another." in response.text
    )
    assert not Ticket.objects.exists()


def test_a_held_request_sent_twice_is_held_once(client):
    from channels_ingest.models import InboundItem

    sent = form(website="http://my.example", **_rendered_form(client))
    for _ in range(2):
        assert client.post("/support/new/", sent).status_code == 302
    assert InboundItem.objects.count() == 1  # else an admin releasing both opens two tickets


def test_sending_one_form_again_after_outages_is_not_counted_as_more_requests(client, settings):
    settings.HELPDESK_WEB_FORM_PER_10_MINUTES = 2
    sent = form(**_rendered_form(client))
    with database_refusing('INSERT INTO "tickets_message"'):
        for _ in range(3):
            assert client.post("/support/new/", sent).status_code == 503
    response = client.post("/support/new/", sent, follow=True)
    assert Ticket.objects.get().reference in response.text
    # Other forms are still counted.
    assert client.post("/support/new/", form(**_rendered_form(client))).status_code == 302
    assert client.post("/support/new/", form(**_rendered_form(client))).status_code == 429


def test_a_form_refused_for_the_limit_stays_refused_when_sent_again(client, settings):
    settings.HELPDESK_WEB_FORM_PER_10_MINUTES = 1
    assert client.post("/support/new/", form(**_rendered_form(client))).status_code == 302
    refused = form(**_rendered_form(client))
    for _ in range(2):
        assert client.post("/support/new/", refused).status_code == 429
    assert Ticket.objects.count() == 1
