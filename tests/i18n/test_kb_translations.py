"""Knowledge-base articles in German: edited in the admin, shown to German readers, found
first by a search in German; English readers and English searches are as before."""

import pytest
from django.test import Client

from knowledge.models import ArticleTranslation
from knowledge.selectors import article_answers
from knowledge.services import article_translation_save

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


@pytest.fixture
def articles(make_kb_article):
    reset = make_kb_article(
        "Reset your password",
        "Open **Sign in**, choose *Forgot password* and follow the emailed link.",
        summary="Choose a new password when you forgot yours.",
        tags="password, login",
    )
    vpn = make_kb_article(
        "VPN disconnects every few minutes",
        "Turn off power saving for the network adapter.",
        summary="When the VPN drops again and again.",
    )
    make_kb_article("Printer shows paper jam", "Open tray 2 and close it again.")
    article_translation_save(
        article=reset,
        language="de",
        title="Passwort zurücksetzen",
        summary="Ein neues Passwort wählen, wenn Sie Ihres vergessen haben.",
        body_markdown="Öffnen Sie **Anmelden**, wählen Sie *Passwort vergessen* und folgen "
        "Sie dem Link in der E-Mail.",
    )
    article_translation_save(
        article=vpn,
        language="de",
        title="VPN trennt sich alle paar Minuten",
        summary="Wenn das VPN die Verbindung immer wieder verliert.",
        body_markdown="Schalten Sie die Energiesparfunktion des Netzwerkadapters aus.",
    )
    return {"reset": reset, "vpn": vpn}


def test_a_search_in_german_finds_the_german_translation(client, articles):
    page = client.get("/kb/search/", {"q": "Passwort vergessen"}, **GERMAN).content.decode()
    assert "Passwort zurücksetzen" in page
    assert "Reset your password" not in page
    assert "1 Ergebnis für „Passwort vergessen“." in page
    hits = article_answers("Passwort vergessen", language="de")
    assert [hit.article.slug for hit in hits] == ["reset-your-password"]
    assert hits[0].article.title == "Passwort zurücksetzen"


def test_the_search_api_answers_in_the_readers_language(client, articles):
    # The same answer as the help center's search box: the German translation, marked.
    found = client.get("/api/v1/kb/search", {"q": "Passwort vergessen"}, **GERMAN).json()
    [result] = found["results"]
    assert result["title"] == "Passwort zurücksetzen" and result["language"] == "de"
    assert "<mark>Passwort</mark> <mark>vergessen</mark>" in result["snippet"]
    english = client.get("/api/v1/kb/search", {"q": "forgot password"}).json()["results"]
    assert [(r["title"], r["language"]) for r in english] == [("Reset your password", "en")]


def test_an_english_search_by_a_german_reader_shows_the_translation_whole(client, articles):
    # Found by its English words, shown in German: the snippet is the German text too.
    found = client.get("/api/v1/kb/search", {"q": "forgot password"}, **GERMAN).json()
    [result] = found["results"]
    assert result["title"] == "Passwort zurücksetzen" and result["language"] == "de"
    assert (
        result["snippet"].startswith("Öffnen Sie Anmelden") and "emailed" not in result["snippet"]
    )
    page = client.get("/kb/search/", {"q": "forgot password"}, **GERMAN).content.decode()
    assert "Passwort zurücksetzen" in page and "follow the emailed link" not in page


def test_stemming_follows_the_translations_language(articles):
    hits = article_answers("Verbindung getrennt VPN", language="de")
    assert hits and hits[0].article.slug == "vpn-disconnects-every-few-minutes"


def test_german_first_then_english(articles):
    # Found in German and in English: once, in German.
    hits = article_answers("VPN", language="de")
    assert [hit.article.title for hit in hits] == ["VPN trennt sich alle paar Minuten"]
    # In no translation: the English article, under its own title.
    hits = article_answers("paper jam", language="de")
    assert [hit.article.title for hit in hits] == ["Printer shows paper jam"]


def test_an_english_search_is_untouched_by_translations(client, articles):
    hits = article_answers("forgot password")
    assert [hit.article.title for hit in hits] == ["Reset your password"]
    assert article_answers("forgot password", language="en")[0].article.title == (
        "Reset your password"
    )
    page = client.get("/kb/search/", {"q": "forgot password"}).content.decode()
    assert "Reset your password" in page and "Passwort zurücksetzen" not in page


def test_the_article_page_shows_the_translation_in_the_readers_language(client, articles):
    url = "/kb/basics/reset-your-password/"
    page = client.get(url, **GERMAN).content.decode()
    assert "<h1>Passwort zurücksetzen</h1>" in page
    assert "<strong>Anmelden</strong>" in page
    assert "War das hilfreich?" in page
    english = Client().get(url).content.decode()
    assert "<h1>Reset your password</h1>" in english and "Anmelden" not in english
    # A German reader of an untranslated article reads it in English.
    other = client.get("/kb/basics/printer-shows-paper-jam/", **GERMAN).content.decode()
    assert "<h1>Printer shows paper jam</h1>" in other and "War das hilfreich?" in other


def test_the_help_center_lists_translated_titles(client, articles):
    home = client.get("/kb/", **GERMAN).content.decode()
    assert "Passwort zurücksetzen" in home and "Printer shows paper jam" in home
    category = client.get("/kb/basics/", **GERMAN).content.decode()
    assert "VPN trennt sich alle paar Minuten" in category


def test_the_contact_forms_suggestions_come_in_german(client, articles):
    page = client.get(
        "/support/suggest/",
        {"subject": "Passwort vergessen", "description": "Ich habe mein Passwort vergessen."},
        **GERMAN,
    ).content.decode()
    assert "Diese Artikel beantworten vielleicht Ihre Frage" in page
    assert "Passwort zurücksetzen" in page


def test_admins_add_translations_in_the_admin(admin_user, articles):
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/knowledge/articletranslation/add/",
        {
            "article": articles["vpn"].pk,
            "language": "de",
            "title": "VPN bricht ab",
            "summary": "",
            "body_markdown": "Energiesparen **aus**.",
        },
    )
    assert response.status_code == 200  # the pair (article, language) exists already
    assert ArticleTranslation.objects.get(article=articles["vpn"]).title != "VPN bricht ab"
    translation = ArticleTranslation.objects.get(article=articles["vpn"])
    response = client.post(
        f"/admin/knowledge/articletranslation/{translation.pk}/change/",
        {
            "article": articles["vpn"].pk,
            "language": "de",
            "title": "VPN bricht ab",
            "summary": "",
            "body_markdown": "Energiesparen **aus**.",
        },
    )
    assert response.status_code == 302
    translation.refresh_from_db()
    assert translation.body_html == "<p>Energiesparen <strong>aus</strong>.</p>\n"
    assert "bricht" in " ".join(translation.search_terms)  # re-indexed by the service
    hits = article_answers("VPN bricht ab", language="de")
    assert hits[0].article.title == "VPN bricht ab"


def test_a_translation_into_a_language_the_desk_has_not_is_refused(articles):
    with pytest.raises(ValueError, match="LANGUAGES"):
        article_translation_save(article=articles["vpn"], language="xx", title="?")
    # Nor into the knowledge base's own language (the article's own texts), as for categories.
    with pytest.raises(ValueError, match="knowledge base's own"):
        article_translation_save(article=articles["vpn"], language="en", title="VPN")


def test_the_demo_knowledge_base_comes_with_german_translations(client):
    from knowledge.demo import load_demo_knowledge_base

    load_demo_knowledge_base()
    load_demo_knowledge_base()  # again: nothing doubled
    assert ArticleTranslation.objects.filter(language="de").count() == 3
    hits = article_answers("Wie beantrage ich eine Rückerstattung?", language="de")
    assert hits[0].article.title == "Eine Rückerstattung beantragen"
    hits = article_answers("VPN bricht alle paar Minuten ab", language="de", confident=True)
    assert hits[0].article.slug == "acme-connect-disconnects-every-few-minutes"
    page = client.get(
        "/kb/account-access/reset-your-password/", HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert "<h1>Passwort zurücksetzen</h1>" in page


def test_a_refused_vote_is_told_in_german_with_the_reason_kept(client, articles):
    url = "/kb/basics/reset-your-password/feedback/"

    response = client.post(url, {"comment": "Keine E-Mail bekommen"}, **GERMAN)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Bitte wählen Sie Ja oder Nein." in page
    assert ">Keine E-Mail bekommen</textarea>" in page
    assert "Passwort zurücksetzen" in page


def _more_translated(make_kb_article, start: int, count: int) -> None:
    for number in range(start, start + count):
        article = make_kb_article(f"Password tip {number}", "Password help.", tags="password")
        article_translation_save(
            article=article, language="de", title=f"Passwort-Tipp {number}", body_markdown="Hilfe"
        )


@pytest.mark.parametrize(
    "path",
    [
        "/kb/",
        "/kb/basics/",
        "/kb/basics/reset-your-password/",
        "/kb/search/?q=password",
        "/api/v1/kb/search?q=password",
    ],
)
def test_german_readers_pages_read_the_same_queries_however_many_articles(
    client, articles, make_kb_article, django_assert_max_num_queries, path
):
    # Each article shown in German (lists, related articles, results) is not a query more.
    _more_translated(make_kb_article, 0, 2)
    client.get(path, **GERMAN)  # the session and the like settle
    with django_assert_max_num_queries(1000) as few:
        assert client.get(path, **GERMAN).status_code == 200
    _more_translated(make_kb_article, 2, 20)

    with django_assert_max_num_queries(len(few)):
        page = client.get(path, **GERMAN).content.decode()
    assert "Passwort" in page
