"""The customer-facing pages in German: from the browser's Accept-Language, from the
language switcher (a CSRF-protected POST), and from a signed-in customer's own language.
English stays the default."""

import re
from html import unescape
from unittest import mock

import pytest
from django.test import Client
from django.utils.translation.trans_real import DjangoTranslation

from tests.factories import CustomerFactory, UserFactory
from tickets import services
from tickets.models import ContactKind, Customer

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
CUSTOMER_PAGES = [
    ("/kb/", "Hilfe-Center", "Help center"),
    ("/support/new/", "Schildern Sie uns, was passiert ist", "Tell us what happened"),
    ("/status/", "Servicestatus", "Service status"),
    ("/support/chat/", "Mit dem Support chatten", "Chat with support"),
    ("/support/login/", "Melden Sie sich an, um Ihre Anfragen zu sehen", "Sign in to see"),
    ("/accounts/password_reset/", "Passwort zurücksetzen", "Reset your password"),
]


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.mark.parametrize(("path", "german", "english"), CUSTOMER_PAGES)
def test_pages_follow_the_browsers_language(client, path, german, english):
    page = client.get(path, **GERMAN).content.decode()
    assert german in page and english not in page
    assert _lang(page) == "de"
    page = client.get(path, **ENGLISH).content.decode()
    assert english in page and german not in page
    assert _lang(page) == "en"


def test_english_is_the_default_for_a_browser_that_names_no_language_we_have(client):
    page = client.get("/kb/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    assert "Help center" in page and _lang(page) == "en"
    assert "Help center" in client.get("/kb/").content.decode()


def test_form_labels_and_errors_are_german_too(client):
    page = client.post(
        "/support/new/", {"name": "", "email": "x", "subject": "", "description": ""}, **GERMAN
    ).content.decode()
    assert "Ihr Name" in page and "Was ist passiert?" in page
    assert "Dieses Feld ist zwingend erforderlich." in page  # Django's own German


def test_the_switcher_sets_the_language_over_the_browsers(client):
    page = client.get("/kb/", **ENGLISH).content.decode()
    switcher = re.search(r'<form method="post" action="/i18n/setlang/".*?</form>', page, re.S)
    assert switcher and 'name="csrfmiddlewaretoken"' in switcher.group(0)
    assert '<option value="de" lang="de">Deutsch</option>' in switcher.group(0)
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/kb/"}, **ENGLISH)
    assert (response.status_code, response["Location"]) == (302, "/kb/")
    assert "Hilfe-Center" in client.get("/kb/", **ENGLISH).content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/kb/"})
    assert "Help center" in client.get("/kb/", **GERMAN).content.decode()


def test_the_switcher_wants_a_post_with_the_csrf_token():
    guarded = Client(enforce_csrf_checks=True)
    assert guarded.get("/i18n/setlang/?language=de").status_code == 405
    assert guarded.post("/i18n/setlang/", {"language": "de"}).status_code == 403
    assert "Help center" in guarded.get("/kb/").content.decode()


def test_an_unknown_language_changes_nothing(client):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/kb/"})
    assert "Help center" in client.get("/kb/").content.decode()


@pytest.fixture
def portal_customer():
    user = UserFactory(username="greta")
    customer = CustomerFactory(user=user, name="Greta Garbo")
    services.customer_add_contact_point(
        customer=customer, kind=ContactKind.EMAIL, value="greta@example.com"
    )
    return customer


def test_a_signed_in_customers_choice_is_kept_on_them_and_wins_over_the_browser(
    portal_customer,
):
    first = Client()
    first.force_login(portal_customer.user)
    first.post("/i18n/setlang/", {"language": "de", "next": "/support/tickets/"})
    assert Customer.objects.get(pk=portal_customer.pk).language == "de"

    # Another browser, asking for English, signs in: the portal is in her language.
    second = Client()
    second.force_login(portal_customer.user)
    page = second.get("/support/tickets/", **ENGLISH).content.decode()
    assert "Meine Anfragen" in page and "Sie haben keine offenen Anfragen." in page


def test_a_customer_without_a_language_reads_the_browsers(portal_customer):
    client = Client()
    client.force_login(portal_customer.user)
    assert "Meine Anfragen" in client.get("/support/tickets/", **GERMAN).content.decode()
    assert "My requests" in client.get("/support/tickets/", **ENGLISH).content.decode()
    assert Customer.objects.get(pk=portal_customer.pk).language == ""


def test_signing_in_with_a_german_browser_keeps_german_on_a_customer_without_one(
    portal_customer,
):
    portal_customer.user.set_password("correct horse battery")
    portal_customer.user.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    response = client.post(
        "/support/login/password/",
        {"username": "greta", "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=portal_customer.pk).language == "de"
    # A known language stays, whatever the next browser asks.
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.post(
        "/support/login/password/", {"username": "greta", "password": "correct horse battery"}
    )
    assert Customer.objects.get(pk=portal_customer.pk).language == "de"
    assert "Meine Anfragen" in english.get("/support/tickets/").content.decode()


def test_the_chat_widgets_strings_come_in_the_pages_language(client):
    page = client.get("/support/chat/", **GERMAN).content.decode()
    linked = re.search(r'<script src="(/jsi18n/de/\?v=\w+)"', page)
    assert linked, "the chat page links its language's catalogue"
    catalog = client.get(linked.group(1)).content.decode()
    assert "Warten auf eine Ansprechperson" in catalog and "Wir sind online." in catalog
    assert "Warten auf eine Ansprechperson" not in client.get("/jsi18n/", **ENGLISH).text


def test_the_chat_pages_catalogue_is_built_once_and_kept_whatever_the_cookies(client):
    page = client.get("/support/chat/", **GERMAN).content.decode()
    url = unescape(re.search(r'<script src="(/jsi18n/de/[^"]+)"', page).group(1))
    with mock.patch("django.views.i18n.DjangoTranslation", wraps=DjangoTranslation) as built:
        first = client.get(url, **ENGLISH)
        again = Client().get(url, **ENGLISH)  # another visitor, another browser language
    assert first.content == again.content and "Wir sind online." in again.text
    assert built.call_count <= 1  # built once (not at all when an earlier test did)
    cache_control = {part.strip() for part in again["Cache-Control"].split(",")}
    assert {"max-age=31536000", "immutable", "public"} <= cache_control
    assert not again.has_header("Vary")  # the URL names its language and version
    # The unversioned address still answers in the request's language, not kept.
    unversioned = client.get("/jsi18n/", **GERMAN)
    assert "Wir sind online." in unversioned.text and "immutable" not in unversioned.get(
        "Cache-Control", ""
    )
