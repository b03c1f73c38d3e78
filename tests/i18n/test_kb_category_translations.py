"""Knowledge-base categories in German: edited inline on the category in the admin, named
in German for German readers of the help center and the knowledge-base API; English
readers, and German readers of an untranslated category, read the category's own name."""

import re
from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from knowledge.models import Category, CategoryTranslation
from knowledge.services import (
    article_save,
    article_translation_save,
    category_save,
    category_translation_save,
)

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def _publish(title: str, slug: str, category: Category) -> None:
    article_save(
        article=None, actor=None, title=title, slug=slug, category=category,
        body_markdown="Text.", status="published", visibility="public",
    )  # fmt: skip


@pytest.fixture
def categories() -> dict[str, Category]:
    network = category_save(
        category=None, name="Network", slug="network",
        description="Connections, proxies and firewalls.",
    )  # fmt: skip
    vpn = category_save(
        category=None, name="VPN client", slug="vpn", parent=network,
        description="The secure tunnel.",
    )  # fmt: skip
    printing = category_save(
        category=None, name="Printing", slug="printing", description="Printers and paper."
    )
    category_translation_save(
        category=network,
        language="de",
        name="Netzwerk",
        description="Verbindungen, Proxys und Firewalls.",
    )
    category_translation_save(category=vpn, language="de", name="VPN-Programm")
    _publish("VPN disconnects every few minutes", "vpn-disconnects", vpn)
    _publish("Printer shows paper jam", "paper-jam", printing)
    return {"network": network, "vpn": vpn, "printing": printing}


def _page(client: Client, path: str, **headers: Any) -> str:
    response = client.get(path, **headers)
    assert response.status_code == 200, path
    return unescape(response.content.decode())


def _breadcrumb(page: str) -> str:
    found = re.search(r'<nav aria-label="(?:Breadcrumb|Navigationspfad)">(.*?)</nav>', page)
    assert found, page
    return found.group(1)


def test_a_german_reader_sees_german_topics_on_the_home_page(client, categories):
    home = _page(client, "/kb/", **GERMAN)
    assert '<a href="/kb/network/">Netzwerk</a>' in home
    assert "Verbindungen, Proxys und Firewalls." in home
    assert "Network" not in home and "Connections, proxies" not in home
    # Not translated: its own name and description.
    assert '<a href="/kb/printing/">Printing</a>' in home and "Printers and paper." in home


def test_a_german_reader_sees_the_category_page_in_german(client, categories):
    page = _page(client, "/kb/network/", **GERMAN)
    assert "<title>Netzwerk · Hilfe-Center" in page
    assert "<h1>Netzwerk</h1>" in page
    assert "<p>Verbindungen, Proxys und Firewalls.</p>" in page
    assert '<a href="/kb/vpn/">VPN-Programm</a>' in page  # its subcategory
    child = _page(client, "/kb/vpn/", **GERMAN)
    assert "<h1>VPN-Programm</h1>" in child
    # The breadcrumb names the parent in German; without a German description, its own.
    assert _breadcrumb(child).endswith('<a href="/kb/network/">Netzwerk</a>')
    assert "<p>The secure tunnel.</p>" in child
    untranslated = _page(client, "/kb/printing/", **GERMAN)
    assert "<h1>Printing</h1>" in untranslated and "Keine Artikel" not in untranslated


def test_a_german_reader_sees_the_articles_category_in_german_in_its_breadcrumb(client, categories):
    page = _page(client, "/kb/vpn/vpn-disconnects/", **GERMAN)
    assert _breadcrumb(page).endswith('<a href="/kb/vpn/">VPN-Programm</a>')
    untranslated = _page(client, "/kb/printing/paper-jam/", **GERMAN)
    assert _breadcrumb(untranslated).endswith('<a href="/kb/printing/">Printing</a>')


def test_an_english_reader_sees_the_categories_own_names(client, categories):
    home = _page(client, "/kb/")
    assert '<a href="/kb/network/">Network</a>' in home and "Netzwerk" not in home
    page = _page(client, "/kb/vpn/")
    assert "<h1>VPN client</h1>" in page and '<a href="/kb/network/">Network</a>' in page
    assert "Netzwerk" not in page and "VPN-Programm" not in page
    article = _page(client, "/kb/vpn/vpn-disconnects/")
    assert _breadcrumb(article).endswith('<a href="/kb/vpn/">VPN client</a>')


def test_a_signed_in_customer_reads_categories_in_their_own_language(
    client, customer_user, categories
):
    customer_user.customer.language = "de"
    customer_user.customer.save()
    client.force_login(customer_user)
    assert "<h1>Netzwerk</h1>" in _page(client, "/kb/network/")


def test_the_api_names_categories_in_the_readers_language(categories):
    api = APIClient()
    german = api.get("/api/v1/kb/categories", **GERMAN)
    assert german.status_code == 200
    assert german["Content-Language"] == "de"
    assert german.json() == {
        "categories": [
            {
                "slug": "network",
                "name": "Netzwerk",
                "description": "Verbindungen, Proxys und Firewalls.",
                "url": "/kb/network/",
                "children": [
                    {
                        "slug": "vpn",
                        "name": "VPN-Programm",
                        "description": "The secure tunnel.",
                        "url": "/kb/vpn/",
                    }
                ],
            },
            {
                "slug": "printing",
                "name": "Printing",
                "description": "Printers and paper.",
                "url": "/kb/printing/",
                "children": [],
            },
        ]
    }
    english = api.get("/api/v1/kb/categories").json()["categories"]
    assert [(c["name"], c["description"]) for c in english] == [
        ("Network", "Connections, proxies and firewalls."),
        ("Printing", "Printers and paper."),
    ]
    assert english[0]["children"][0]["name"] == "VPN client"


def _queries(client: Client, path: str, **headers: Any) -> int:
    with CaptureQueriesContext(connection) as seen:
        assert client.get(path, **headers).status_code == 200
    return len(seen)


def _more_translated_categories(parent: Category, count: int) -> None:
    for n in range(count):
        top = category_save(category=None, name=f"Topic {n}", slug=f"topic-{n}")
        category_translation_save(category=top, language="de", name=f"Thema {n}")
        _publish(f"Topic article {n}", f"topic-article-{n}", top)
        child = category_save(category=None, name=f"Sub {n}", slug=f"sub-{n}", parent=parent)
        category_translation_save(category=child, language="de", name=f"Unterthema {n}")
        _publish(f"Article {n}", f"article-{n}", child)


@pytest.mark.parametrize("path", ["/kb/", "/kb/network/", "/api/v1/kb/categories"])
def test_the_query_count_does_not_grow_with_the_categories(client, categories, path):
    _queries(client, path, **GERMAN)  # the session and the like settle
    few = _queries(client, path, **GERMAN)
    _more_translated_categories(categories["network"], 5)

    with CaptureQueriesContext(connection) as many:
        page = unescape(client.get(path, **GERMAN).content.decode())
    with CaptureQueriesContext(connection) as english:
        client.get(path)

    assert len(many) == few
    assert ("Unterthema 4" if path == "/kb/network/" else "Thema 4") in page
    # The translations of all shown categories in one query; none for English readers.
    assert _translation_queries(many) == 1
    assert _translation_queries(english) == 0


def _translation_queries(captured: CaptureQueriesContext) -> int:
    return sum("knowledge_categorytranslation" in q["sql"] for q in captured.captured_queries)


def test_admins_edit_a_categorys_translations_on_the_category(admin_user, categories):
    client = Client()
    client.force_login(admin_user)
    printing = categories["printing"]
    url = f"/admin/knowledge/category/{printing.pk}/change/"
    assert 'name="translations-TOTAL_FORMS"' in client.get(url).content.decode()
    form = {
        "name": "Printing",
        "slug": "printing",
        "parent": "",
        "description": "Printers and paper.",
        "position": "0",
        "translations-TOTAL_FORMS": "1",
        "translations-INITIAL_FORMS": "0",
        "translations-MIN_NUM_FORMS": "0",
        "translations-MAX_NUM_FORMS": "1000",
        "translations-0-language": "de",
        "translations-0-name": "  Drucken ",
        "translations-0-description": "Drucker und Papier.",
    }
    response = client.post(url, form)
    assert response.status_code == 302, unescape(response.content.decode())[:3000]
    translation = CategoryTranslation.objects.get(category=printing)
    assert (translation.language, translation.name) == ("de", "Drucken")
    assert "<h1>Drucken</h1>" in _page(Client(), "/kb/printing/", **GERMAN)

    # Changed, then deleted, on the same page.
    form.update(
        {
            "translations-INITIAL_FORMS": "1",
            "translations-0-id": str(translation.pk),
            "translations-0-category": str(printing.pk),
            "translations-0-name": "Druck",
        }
    )
    assert client.post(url, form).status_code == 302
    translation.refresh_from_db()
    assert translation.name == "Druck"
    assert client.post(url, {**form, "translations-0-DELETE": "on"}).status_code == 302
    assert not CategoryTranslation.objects.filter(category=printing).exists()
    assert "<h1>Printing</h1>" in _page(Client(), "/kb/printing/", **GERMAN)


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        # The knowledge base's own language is the category's own name.
        ({"0-language": "en", "0-name": "Printing!"}, "Select a valid choice."),
        (
            {"0-language": "de", "0-name": "Drucken", "1-language": "de", "1-name": "Druck"},
            "Please correct the duplicate data for language.",
        ),
        ({"0-language": "de", "0-name": "   "}, "This field is required."),
    ],
)
def test_the_admin_refuses_a_translation_it_cannot_show(admin_user, categories, rows, error):
    client = Client()
    client.force_login(admin_user)
    printing = categories["printing"]
    total = len({key.split("-")[0] for key in rows})
    response = client.post(
        f"/admin/knowledge/category/{printing.pk}/change/",
        {
            "name": "Printing",
            "slug": "printing",
            "parent": "",
            "description": "",
            "position": "0",
            "translations-TOTAL_FORMS": str(total),
            "translations-INITIAL_FORMS": "0",
            **{f"translations-{key}": value for key, value in rows.items()},
        },
    )
    assert response.status_code == 200
    assert error in unescape(response.content.decode())
    assert not CategoryTranslation.objects.filter(category=printing).exists()


@pytest.mark.parametrize("language", ["en", "xx"])
def test_a_translation_into_a_language_it_cannot_be_shown_in_is_refused(categories, language):
    with pytest.raises(ValueError, match="LANGUAGES other than"):
        category_translation_save(category=categories["printing"], language=language, name="?")
    with pytest.raises(ValueError, match="needs a name"):
        category_translation_save(category=categories["printing"], language="de", name=" ")
    assert not CategoryTranslation.objects.filter(category=categories["printing"]).exists()


def test_an_article_and_its_category_each_show_their_own_translation(categories):
    # An article's translation is its own: the category's German name does not rename it.
    article = categories["vpn"].articles.get()
    article_translation_save(article=article, language="de", title="VPN trennt sich")
    page = _page(Client(), "/kb/vpn/vpn-disconnects/", **GERMAN)
    assert "<h1>VPN trennt sich</h1>" in page and "VPN-Programm" in page


def test_the_demo_help_center_names_its_categories_in_german(client):
    from knowledge.demo import load_demo_knowledge_base

    load_demo_knowledge_base()
    load_demo_knowledge_base()  # again: nothing doubled
    assert CategoryTranslation.objects.filter(language="de").count() == Category.objects.count()
    home = _page(client, "/kb/", **GERMAN)
    assert '<a href="/kb/billing/">Abrechnung</a>' in home
    assert '<a href="/kb/account-access/">Konto & Zugang</a>' in home
    article = _page(client, "/kb/account-access/reset-your-password/", **GERMAN)
    assert "<h1>Passwort zurücksetzen</h1>" in article
    assert _breadcrumb(article).endswith('<a href="/kb/account-access/">Konto & Zugang</a>')
    assert '<a href="/kb/billing/">Billing</a>' in _page(client, "/kb/")
