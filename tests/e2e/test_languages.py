"""A German-speaking customer in a browser set to German: the help center, the contact
form and the portal speak German, and so do the emails they get."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from knowledge.services import (
    article_save,
    article_translation_save,
    category_save,
    category_translation_save,
)
from tickets.models import Ticket


@pytest.fixture
def translated_article(db: None) -> None:
    category = category_save(category=None, name="Network", slug="network")
    category_translation_save(category=category, language="de", name="Netzwerk")
    article = article_save(
        article=None, actor=None, title="VPN disconnects every few minutes",
        slug="vpn-disconnects", category=category,
        summary="When the VPN drops the connection again and again.",
        body_markdown="Turn off power saving for the network adapter.",
        tags="vpn, network, disconnect", status="published", visibility="public",
    )  # fmt: skip
    article_translation_save(
        article=article,
        language="de",
        title="VPN trennt sich alle paar Minuten",
        summary="Wenn das VPN die Verbindung immer wieder verliert.",
        body_markdown="Schalten Sie die **Energiesparfunktion** des Netzwerkadapters aus.",
    )


def test_a_german_customer_uses_help_center_form_and_portal_in_german(
    new_page: Callable[..., Page],
    screenshot: Callable[..., Path],
    translated_article: None,
    celery_eager: Any,
    settings: Any,
) -> None:
    settings.HELPDESK_CUSTOMER_NOTICES = True
    page = new_page(locale="de-DE")

    # The help center, and a search in German that finds the German article.
    page.goto("/kb/")
    expect(page.get_by_role("heading", name="Hilfe-Center", level=1)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("link", name="Netzwerk", exact=True)).to_be_visible()
    page.get_by_label("Im Hilfe-Center suchen").fill("VPN Verbindung getrennt")
    page.get_by_role("button", name="Suchen").click()
    page.get_by_role("link", name="VPN trennt sich alle paar Minuten").click()
    expect(page.get_by_text("Energiesparfunktion")).to_be_visible()
    breadcrumb = page.get_by_role("navigation", name="Navigationspfad")
    expect(breadcrumb.get_by_role("link", name="Netzwerk", exact=True)).to_be_visible()
    expect(page.get_by_text("War das hilfreich?")).to_be_visible()
    screenshot("german-article", page)

    # The contact form.
    page.get_by_role("link", name="Support kontaktieren").first.click()
    page.get_by_label("Ihr Name").fill("Jutta Weber")
    page.get_by_label("Ihre E-Mail-Adresse").fill("jutta@example.de")
    page.get_by_label("Betreff").fill("Drucker druckt nicht")
    page.get_by_label("Was ist passiert?").fill("Seit dem Update druckt der Drucker nicht mehr.")
    page.get_by_label("Wie dringend ist es?").select_option("normal")
    page.get_by_role("button", name="Senden", exact=True).click()
    expect(page.get_by_text("wir haben Ihre Anfrage erhalten")).to_be_visible()
    screenshot("german-request-received", page)
    ticket = Ticket.objects.get(customer__name="Jutta Weber")
    assert ticket.customer.language == "de"
    (ack,) = [m for m in mail.outbox if ticket.reference in m.subject]
    assert ack.subject.startswith("Wir haben Ihre Anfrage erhalten")

    # The portal: a sign-in link by email (in German), then her requests.
    page.get_by_role("link", name="Anmelden").click()
    page.get_by_label("Ihre E-Mail-Adresse").fill("jutta@example.de")
    page.get_by_role("button", name="Anmeldelink per E-Mail senden").click()
    expect(page.get_by_role("heading", name="Bitte prüfen Sie Ihre E-Mails")).to_be_visible()
    message = next(m for m in reversed(mail.outbox) if m.subject == "Ihr Anmeldelink")
    link = re.search(r"https?://\S+/support/login/\S+/", message.body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Meine Anfragen", level=1)).to_be_visible()
    row = page.locator("tr", has_text="Drucker druckt nicht")
    expect(row).to_contain_text("Eingegangen")
    screenshot("german-portal", page)

    # She switches to English; the portal follows, and her choice is kept on her.
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Sprache ändern").click()
    expect(page.get_by_role("heading", name="My requests", level=1)).to_be_visible()
    ticket.customer.refresh_from_db()
    assert ticket.customer.language == "en"


def test_a_german_customer_chats_in_german_and_the_widget_says_so(
    new_page: Callable[..., Page], screenshot: Callable[..., Path], celery_eager: Any
) -> None:
    page = new_page(locale="de-DE")
    page.goto("/support/chat/")
    expect(page.locator("body")).to_have_attribute("data-chat-online", "no")
    expect(page.get_by_role("button", name="Nachricht senden")).to_be_visible()
    page.get_by_label("Ihr Name").fill("Jutta Weber")
    page.get_by_label(re.compile("E-Mail")).first.fill("jutta@example.de")
    page.locator("#chat-first").fill("Bitte rufen Sie mich zurück.")
    page.locator("#chat-start-submit").click()
    expect(
        page.get_by_role("heading", name="Vielen Dank, wir haben Ihre Nachricht erhalten")
    ).to_be_visible()
    screenshot("german-chat-message-left", page)
    ticket = Ticket.objects.get(customer__name="Jutta Weber")
    assert ticket.customer.language == "de"

    # The widget's button, on a German host page, asks for the label in German.
    look = page.request.get("/brand/widget.json?lang=de").json()
    assert look["label"].startswith("Mit ") and look["label"].endswith(" chatten")
