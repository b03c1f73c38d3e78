"""An agent turns a solved ticket into a draft knowledge-base article."""

from collections.abc import Callable

import pytest

from knowledge.models import Article, Category
from tickets import services
from tickets.models import Ticket, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def solved(open_ticket: Callable[..., Ticket], agent) -> Ticket:
    ticket = open_ticket(
        sender="ada.lovelace@example.com",
        sender_name="Ada Lovelace",
        subject="Calendar sync stopped after the update",
        text="Hi, Ada here. Since the update my calendar no longer syncs. Mail ada@example.org",
    )
    services.ticket_reply(
        ticket=ticket,
        actor=agent,
        text="Hello Ada, remove the account under Settings > Accounts and add it again.",
        status=TicketStatus.RESOLVED,
    )
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def category(db: None) -> Category:
    return Category.objects.create(name="Calendar", slug="calendar")


def url(ticket: Ticket) -> str:
    return f"/admin/tickets/ticket/{ticket.pk}/draft-article/"


def test_a_resolved_ticket_becomes_an_anonymised_draft(client, agent, solved, category):
    client.force_login(agent)
    page = client.get(f"/admin/tickets/ticket/{solved.pk}/change/").content.decode()
    assert url(solved) in page
    assert "Calendar sync stopped after the update" in client.get(url(solved)).content.decode()

    response = client.post(
        url(solved), {"title": "Calendar stops syncing after an update", "category": category.pk}
    )

    article = Article.objects.get()
    assert response["Location"] == f"/admin/knowledge/article/{article.pk}/change/"
    assert (article.status, article.author, article.category) == ("draft", agent, category)
    assert "my calendar no longer syncs" in article.body_markdown
    assert "remove the account under Settings &gt; Accounts" in article.body_html
    for private in ("Ada", "Lovelace", "ada@example.org", "ada.lovelace@example.com"):
        assert private not in article.body_markdown
    assert article.revisions.count() == 1
    # Not published: customers cannot find it.
    assert client.get(f"/kb/calendar/{article.slug}/").status_code in (200, 404)
    client.logout()
    assert client.get(f"/kb/calendar/{article.slug}/").status_code == 404


def test_a_second_draft_of_the_same_subject_gets_its_own_slug(client, agent, solved, category):
    client.force_login(agent)
    for _ in range(2):
        client.post(url(solved), {"title": "Same title", "category": category.pk})
    assert sorted(Article.objects.values_list("slug", flat=True)) == ["same-title", "same-title-2"]


def test_an_open_ticket_cannot_become_an_article(client, agent, open_ticket, category):
    ticket = open_ticket()
    client.force_login(agent)
    response = client.post(url(ticket), {"title": "x", "category": category.pk})
    assert response.status_code == 302
    assert not Article.objects.exists()
    assert "Only a resolved or closed ticket" in client.get(response["Location"]).content.decode()


def test_a_missing_category_is_an_error_and_writes_nothing(client, agent, solved):
    client.force_login(agent)
    response = client.post(url(solved), {"title": "x", "category": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not Article.objects.exists()


def test_customers_cannot_draft_articles(client, customer_user, solved, category):
    client.force_login(customer_user)
    response = client.post(url(solved), {"title": "x", "category": category.pk})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Article.objects.exists()
