"""Search learns from use: a reader's words that led to an article that solved their
problem draw later searches with those words to it (knowledge.search.index.learn)."""

import re
from collections.abc import Callable
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils import timezone

from knowledge.models import Article
from knowledge.search.index import learn

pytestmark = pytest.mark.django_db


@pytest.fixture
def kb(make_article: Callable[..., Article]) -> dict[str, Article]:
    return {
        "vpn": make_article(
            "VPN disconnects every few minutes",
            "Turn off power saving for the network adapter, then reconnect the VPN client.",
            tags="vpn, network",
        ),
        "invoice": make_article("Download an invoice", "Billing > Invoices > Download."),
        "shortcuts": make_article("Keyboard shortcuts", "Press ? to see every shortcut."),
    }


def found(client: Client, query: str) -> list[str]:
    return [r["slug"] for r in client.get("/api/v1/kb/search", {"q": query}).json()["results"]]


def scores(client: Client, query: str) -> list[tuple[str, float]]:
    results = client.get("/api/v1/kb/search", {"q": query}).json()["results"]
    return [(r["slug"], r["score"]) for r in results]


def first_result_link(client: Client, query: str) -> str:
    page = client.get("/kb/search/", {"q": query}).content.decode()
    return re.search(r'href="(/kb/[\w-]+/[\w-]+/\?search=[^"]+)"', page).group(1)


def test_a_helpful_vote_after_a_search_teaches_the_search_its_words(client, kb) -> None:
    assert found(client, "zorbax") == []
    link = first_result_link(client, "zorbax vpn drops")
    article_page = client.get(link).content.decode()
    token = re.search(r'name="search" value="([^"]+)"', article_page).group(1)

    client.post(f"{link.split('?')[0]}feedback/", {"helpful": "yes", "search": token})

    assert found(client, "zorbax") == ["vpn-disconnects-every-few-minutes"]


def test_one_search_teaches_once_however_often_its_yes_is_sent(client, kb) -> None:
    link = first_result_link(client, "zorbax vpn drops")
    path, token = link.split("?")[0], link.split("search=")[1]
    client.get(link)
    client.post(f"{path}feedback/", {"helpful": "yes", "search": unquote(token)})
    once = scores(client, "zorbax")

    for _ in range(4):  # the same search's "yes" again, as other readers (fresh sessions)
        Client().post(f"{path}feedback/", {"helpful": "yes", "search": unquote(token)})

    assert scores(client, "zorbax") == once


def test_a_no_vote_or_a_forged_search_teaches_nothing(client, kb) -> None:
    link = first_result_link(client, "zorbax vpn drops")
    path = link.split("?")[0]
    token = link.split("search=")[1]
    client.get(link)

    client.post(f"{path}feedback/", {"helpful": "no", "search": token})
    client.post(f"{path}feedback/", {"helpful": "yes", "search": "forged"})
    invoice = client.get("/kb/search/", {"q": "invoice"}).content.decode()
    other = re.search(r"search=([^\"&]+)", invoice).group(1)
    client.post(f"{path}feedback/", {"helpful": "yes", "search": other})  # not this article's

    assert found(client, "zorbax") == []


def test_this_solved_my_problem_on_the_contact_form_teaches_the_search(client, kb) -> None:
    fragment = client.get(
        "/support/suggest/", {"subject": "zorbax vpn disconnects", "description": ""}
    ).content.decode()
    token = re.search(r'name="suggestion_search" value="([^"]+)"', fragment).group(1)

    client.post(
        "/support/solved-it/",
        {"article": kb["vpn"].pk, "subject": "zorbax vpn disconnects", "suggestion_search": token},
    )

    assert found(client, "zorbax") == ["vpn-disconnects-every-few-minutes"]


def test_this_solved_my_problem_sent_again_for_one_search_teaches_once(client, kb) -> None:
    fragment = client.get(
        "/support/suggest/", {"subject": "zorbax vpn disconnects", "description": ""}
    ).content.decode()
    token = re.search(r'name="suggestion_search" value="([^"]+)"', fragment).group(1)
    solved = {
        "article": kb["vpn"].pk,
        "subject": "zorbax vpn disconnects",
        "suggestion_search": token,
    }
    client.post("/support/solved-it/", solved)
    once = scores(client, "zorbax")

    for _ in range(4):
        Client().post("/support/solved-it/", solved)

    assert scores(client, "zorbax") == once


def test_this_solved_my_problem_without_a_search_teaches_nothing(client, kb) -> None:
    # Words no search of the desk logged: anyone could post them to draw any search anywhere.
    for _ in range(4):
        Client().post("/support/solved-it/", {"article": kb["vpn"].pk, "subject": "zorbax"})

    assert found(client, "zorbax") == []


def test_words_learned_for_agents_only_articles_take_no_customers_places(
    client, kb, make_article
) -> None:
    for number in range(12):
        again = "Zorbax again. " * (number % 4)  # ranks them apart, in four groups
        make_article(f"Tunnel guide {number}", f"Zorbax tunnels, part {number}. {again}")
    for number in range(3):  # learned by agents' searches, strongly
        internal = make_article(f"Internal runbook {number}", "Escalate.", visibility="agents")
        for _ in range(5):
            learn(query="zorbax", article=internal, now=timezone.now())

    results = found(client, "zorbax")

    assert len(results) == 10  # a full page of the articles customers may read
    assert all(slug.startswith("tunnel-guide-") for slug in results)
