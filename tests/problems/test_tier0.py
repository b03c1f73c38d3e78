"""Tier 0 tells customers of affected services about a known issue first, and a customer
can say "this is my problem" to be answered when it is fixed; articles about the customer's
products come before others."""

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from tests.tickets.test_routing import route
from tickets import services
from tickets.catalog.services import service_save
from tickets.models import Product, TicketStatus
from tickets.problems import known_issues
from tickets.problems import services as problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def fibre(agent: Any) -> Any:
    """Fibre, with a known issue published for its lines in Leeds."""
    product = Product.objects.create(name="Fibre")
    problem = problems.problem_create(title="Leeds exchange down", actor=agent)
    known_issues.known_issue_publish(
        problem=problem,
        actor=agent,
        title="Fibre outage in Leeds",
        summary="Fibre lines in Leeds are down; engineers are on site.",
        products=[product],
        regions=["Leeds"],
    )
    return product


def _customer_with(product: Any, region: str, address: str) -> Any:
    customer = services.customer_get_or_create_for_contact(kind="email", value=address)
    service_save(
        service=None, product=product, customer=customer, identifier=address[:6],
        region=region, actor=None,
    )  # fmt: skip
    return customer


def _offer(address: str) -> str:
    return next(m.body for m in mail.outbox if address in m.to)


def test_a_customer_of_an_affected_service_hears_of_the_known_issue_first(
    fibre: Any,
    open_ticket: Any,
    agent: Any,
    settings: Any,
    celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.HELPDESK_CUSTOMER_NOTICES = True
    _customer_with(fibre, "leeds", "ann@example.com")
    ticket = open_ticket(tier_level=0, sender="ann@example.com", text="Nothing works at all")

    with django_capture_on_commit_callbacks(execute=True):
        assert route(ticket) == "waiting in self-service"

    offer = _offer("ann@example.com")
    assert offer.startswith("We know of a problem that may be what you are seeing: Fibre outage")
    link = urlsplit(re.search(r"https?://\S+/known-issue/\S+/", offer).group(0)).path
    client = Client()
    assert "Is this your problem?" in client.get(link).content.decode()
    ticket.refresh_from_db()
    assert ticket.problem is None, "a GET (a mail scanner) changes nothing"

    page = client.post(link).content.decode()

    assert "We will tell you when it is fixed" in page
    ticket.refresh_from_db()
    assert ticket.problem is not None and ticket.problem.title == "Leeds exchange down"
    with django_capture_on_commit_callbacks(execute=True):
        problems.problem_solve(problem=ticket.problem, actor=agent, answer="Fixed, sorry!")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_customers_elsewhere_or_without_the_product_are_not_told(
    fibre: Any, open_ticket: Any, settings: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any, kb_answer: Any,
) -> None:  # fmt: skip
    settings.HELPDESK_CUSTOMER_NOTICES = True
    _customer_with(fibre, "York", "bob@example.com")
    for address in ("bob@example.com", "cy@example.com"):
        ticket = open_ticket(
            tier_level=0, sender=address, subject="Problem number guide", text="Broken."
        )
        with django_capture_on_commit_callbacks(execute=True):
            route(ticket)
        offer = _offer(address)
        assert "We know of a problem" not in offer
        assert "these articles may already answer it" in offer


def test_a_forged_or_other_problems_link_is_refused(fibre: Any, open_ticket: Any) -> None:
    from tickets.problems.offers import mine_token

    ticket = open_ticket()
    other = problems.problem_create(title="Other", actor=None)
    token = mine_token(ticket.pk, other.pk + 1)
    assert Client().post(f"/support/known-issue/{other.pk}/mine/{token}/").status_code == 404
    ticket.refresh_from_db()
    assert ticket.problem is None


def test_articles_about_the_customers_products_come_first(
    open_ticket: Any, kb_answer: Any, settings: Any, celery_eager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from knowledge.services import article_save

    settings.HELPDESK_CUSTOMER_NOTICES = True
    router = Product.objects.create(name="Router X2")
    mine = article_save(
        article=None, actor=None, title="Router X2: something broken",
        slug="router-broken", category=kb_answer.category, summary="Problem number guide.",
        body_markdown="Restart the router.", status="published",
    )  # fmt: skip
    router.articles.add(mine)
    _customer_with(router, "", "dee@example.com")
    ticket = open_ticket(
        tier_level=0, sender="dee@example.com", subject="Problem number guide", text="Broken."
    )
    with django_capture_on_commit_callbacks(execute=True):
        route(ticket)
    offer = _offer("dee@example.com")
    assert "/kb/basics/router-broken/" in offer
    assert offer.index("router-broken") < offer.index("something-broken")
