from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from knowledge import services
from knowledge.models import Article, ArticleRevision, Category, Synonym
from tests.factories import LightAgentFactory
from tickets.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


def test_adding_an_article_goes_through_the_service(
    admin_client_: Client, admin_user: Any, category: Category
) -> None:
    response = admin_client_.post(
        "/admin/knowledge/article/add/",
        _article_form(category, body_markdown="Hi <script>x()</script>**there**", tags="a,  b"),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(slug="reset")
    assert "<script" not in article.body_html
    assert "<strong>there</strong>" in article.body_html
    assert article.tags == "a, b"
    assert article.author == admin_user
    assert article.revisions.get().author == admin_user
    page = admin_client_.get(f"/admin/knowledge/article/{article.pk}/change/").content.decode()
    assert "<strong>there</strong>" in page  # the preview


def test_restore_action_writes_a_new_revision(
    admin_client_: Client, make_article: Callable[..., Article]
) -> None:
    article = make_article("First", "one")
    services.article_save(article=article, actor=None, title="Second")
    first = ArticleRevision.objects.get(article=article, number=1)

    response = admin_client_.post(
        "/admin/knowledge/articlerevision/",
        {"action": "restore", "_selected_action": [first.pk]},
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.title == "First"
    assert article.revisions.count() == 3


def _restore(client: Client, *revisions: ArticleRevision) -> Any:
    return client.post(
        "/admin/knowledge/articlerevision/",
        {"action": "restore", "_selected_action": [r.pk for r in revisions]},
        follow=True,
    )


def test_a_light_agent_may_look_at_revisions_but_not_restore_one(
    client: Client, make_article: Callable[..., Article]
) -> None:
    article = make_article("First", "one")
    services.article_save(article=article, actor=None, title="Second")
    client.force_login(LightAgentFactory(username="lighty"))

    listing = client.get("/admin/knowledge/articlerevision/")
    response = _restore(client, ArticleRevision.objects.get(article=article, number=1))

    assert listing.status_code == 200
    assert 'value="restore"' not in listing.content.decode()
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.title == "Second"
    assert article.revisions.count() == 2


def test_an_agent_who_edits_articles_may_restore_a_revision(
    client: Client, agent: Any, make_article: Callable[..., Article]
) -> None:
    article = make_article("First", "one")
    services.article_save(article=article, actor=None, title="Second")
    client.force_login(agent)

    _restore(client, ArticleRevision.objects.get(article=article, number=1))

    article.refresh_from_db()
    assert article.title == "First"
    assert article.revisions.get(number=3).author == agent


def test_two_revisions_of_one_article_are_not_restored_at_once(
    admin_client_: Client, make_article: Callable[..., Article]
) -> None:
    article = make_article("First", "one")
    services.article_save(article=article, actor=None, title="Second")
    services.article_save(article=article, actor=None, title="Third")
    first, second = ArticleRevision.objects.filter(article=article, number__lt=3).order_by("number")

    response = _restore(admin_client_, first, second)

    assert "Choose one revision of “Third” to restore." in response.content.decode()
    article.refresh_from_db()
    assert (article.title, article.revisions.count()) == ("Third", 3)


def test_an_articles_page_and_the_revisions_list_read_the_same_queries_however_many_revisions(
    admin_client_: Client,
    agent: Any,
    make_article: Callable[..., Article],
    django_assert_max_num_queries: Any,
) -> None:
    article = make_article("Reset", "one", actor=agent)
    for number in range(30):
        services.article_save(article=article, actor=agent, summary=f"Edit {number}")

    with django_assert_max_num_queries(16):
        page = admin_client_.get(f"/admin/knowledge/article/{article.pk}/change/")
    with django_assert_max_num_queries(10):
        listing = admin_client_.get("/admin/knowledge/articlerevision/")

    assert page.status_code == listing.status_code == 200
    assert page.content.decode().count(agent.username) >= 31


def _article_form(category: Category, **values: Any) -> dict[str, Any]:
    return {
        "title": "Reset",
        "slug": "reset",
        "category": category.pk,
        "summary": "",
        "body_markdown": "Body",
        "tags": "",
        "search_words": "",
        "status": "published",
        "visibility": "public",
        "author": "",
        "last_reviewed_at_0": "",
        "last_reviewed_at_1": "",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": "0",
        **values,
    }


def test_tags_too_long_once_spaced_are_refused_on_the_form_with_what_was_typed(
    admin_client_: Client, category: Category
) -> None:
    typed = ",".join(["vpn"] * 75)  # 299 characters; "vpn, vpn, …" would be 373

    response = admin_client_.post(
        "/admin/knowledge/article/add/", _article_form(category, tags=typed, title="Kept title")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Too long once the tags are separated by" in page
    assert typed in page
    assert "Kept title" in page
    assert not Article.objects.exists()


def _category_form(**values: Any) -> dict[str, Any]:
    return {
        "name": "Access",
        "slug": "access",
        "parent": "",
        "description": "",
        "position": 0,
        "translations-TOTAL_FORMS": "0",
        "translations-INITIAL_FORMS": "0",
        **values,
    }


def test_a_category_may_not_take_the_search_pages_address(
    admin_client_: Client, client: Client
) -> None:
    response = admin_client_.post(
        "/admin/knowledge/category/add/", _category_form(name="Search", slug="search")
    )

    assert response.status_code == 200
    assert "“search” is the address of the help center" in response.content.decode()
    assert not Category.objects.filter(slug="search").exists()
    assert client.get("/api/v1/kb/categories").json() == {"categories": []}


def test_renaming_a_category_in_the_admin_makes_its_articles_found_by_the_new_name(
    admin_client_: Client, client: Client, make_article: Callable[..., Article], category: Category
) -> None:
    article = make_article("Reset your password", "Open the sign-in page.")

    response = admin_client_.post(
        f"/admin/knowledge/category/{category.pk}/change/", _category_form(name="Quokkas")
    )

    assert response.status_code == 302
    found = client.get("/api/v1/kb/search", {"q": "quokkas"}).json()["results"]
    assert [hit["id"] for hit in found] == [article.pk]
    assert client.get("/api/v1/kb/search", {"q": "access"}).json()["results"] == []


def _scores(client: Client, query: str) -> list[tuple[int, float, float]]:
    found = client.get("/api/v1/kb/search", {"q": query}).json()["results"]
    return [(hit["id"], hit["score"], hit["confidence"]) for hit in found]


@pytest.mark.parametrize("how", ["page", "action"])
def test_deleting_articles_in_the_admin_leaves_the_search_as_a_fresh_index_would(
    admin_client_: Client, client: Client, make_article: Callable[..., Article], how: str
) -> None:
    kept = make_article("Reset your password", "Open the sign-in page.")
    make_article("Forgotten passwords", "Passwords of other people.")
    gone = make_article("Password vault", "Zebra stripes.")

    if how == "page":
        response = admin_client_.post(
            f"/admin/knowledge/article/{gone.pk}/delete/", {"post": "yes"}
        )
    else:
        response = admin_client_.post(
            "/admin/knowledge/article/",
            {"action": "delete_selected", "_selected_action": [gone.pk], "post": "yes"},
        )

    assert response.status_code == 302
    after_delete = _scores(client, "reset password")
    call_command("kb_reindex", stdout=StringIO())
    assert after_delete == _scores(client, "reset password")
    assert kept.pk in [pk for pk, _score, _sure in after_delete]


@pytest.mark.parametrize("words", ["wifi", "wifi, WiFi", "password, passwords ,", ", ,", "the, a"])
def test_a_synonym_the_search_would_pass_over_is_refused_with_what_was_typed(
    admin_client_: Client, words: str
) -> None:
    shipped = Synonym.objects.count()  # the starting set

    response = admin_client_.post("/admin/knowledge/synonym/add/", {"words": words})

    assert response.status_code == 200
    page = response.content.decode()
    assert "the search reads them as one" in page
    assert f"{words}</textarea>" in page
    assert Synonym.objects.count() == shipped


def test_a_synonym_of_two_different_words_is_saved(admin_client_: Client) -> None:
    response = admin_client_.post("/admin/knowledge/synonym/add/", {"words": "wifi, wlan"})

    assert response.status_code == 302
    assert Synonym.objects.filter(words="wifi, wlan").exists()


def test_an_articles_author_is_chosen_among_staff_not_every_customer(
    admin_client_: Client, agent: Any, customer_user: Any, make_article: Callable[..., Article]
) -> None:
    article = make_article("Reset", "one")

    page = admin_client_.get(f"/admin/knowledge/article/{article.pk}/change/").content.decode()

    assert f'value="{agent.pk}"' in page
    assert customer_user.username not in page
    refused = admin_client_.post(
        f"/admin/knowledge/article/{article.pk}/change/",
        _article_form(article.category, slug="reset", author=customer_user.pk),
    )
    assert refused.status_code == 200
    article.refresh_from_db()
    assert article.author is None


@pytest.mark.parametrize(
    ("model", "field", "found"),
    [("article", "category", "Access"), ("articletranslation", "article", "Reset your password")],
)
def test_the_admins_lookups_of_a_category_or_an_article_pass_over_nul_characters(
    admin_client_: Client, make_article: Callable[..., Article], model: str, field: str, found: str
) -> None:
    term = "\x00" + found[:3]
    make_article("Reset your password", "Open the sign-in page.")

    response = admin_client_.get(
        "/admin/autocomplete/",
        {"term": term, "app_label": "knowledge", "model_name": model, "field_name": field},
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [found]


def test_the_categories_list_reads_the_same_queries_however_many_subtopics(
    admin_client_: Client, category: Category, django_assert_max_num_queries: Any
) -> None:
    for number in range(30):
        services.category_save(
            category=None, name=f"Topic {number}", slug=f"topic-{number}", parent=category
        )

    with django_assert_max_num_queries(15):
        response = admin_client_.get("/admin/knowledge/category/")

    assert response.status_code == 200
    assert response.content.decode().count(">Access<") >= 30


def test_every_admin_lookup_passes_over_nul_characters(admin_client_: Client) -> None:
    """One guard for every model's lookup, the tickets' too (a customer's, say)."""
    Customer.objects.create(name="Ada Lovelace")

    response = admin_client_.get(
        "/admin/autocomplete/",
        {
            "term": "\x00Ada",
            "app_label": "tickets",
            "model_name": "service",
            "field_name": "customer",
        },
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Ada Lovelace"]
