"""Deflection is measured: what readers searched, what they opened, what solved it."""

from collections.abc import Callable

import pytest
from django.test import Client

from knowledge.models import Article, Deflection, SearchLog
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def vpn(make_article: Callable[..., Article]) -> Article:
    return make_article(
        "VPN disconnects every few minutes",
        "Turn off **power saving** for the network adapter, then reconnect the VPN client.",
        summary="When the VPN drops the connection again and again.",
        tags="vpn, network, disconnect",
    )


@pytest.fixture
def internal(make_article: Callable[..., Article]) -> Article:
    return make_article(
        "VPN concentrator failover runbook",
        "Fail the VPN concentrator over to the standby unit.",
        tags="vpn, disconnect",
        visibility="agents",
    )


def suggest(client: Client, subject: str, description: str = "", token: str = "") -> str:
    response = client.get(
        "/support/suggest/",
        {"subject": subject, "description": description, "suggestion_search": token},
        **HTMX,
    )
    assert response.status_code == 200
    return response.content.decode()


def token_in(fragment: str) -> str:
    marker = 'name="suggestion_search" value="'
    start = fragment.index(marker) + len(marker)
    return fragment[start : fragment.index('"', start)]


def test_the_contact_form_loads_htmx_from_our_own_static_files(client):
    html = client.get("/support/new/").content.decode()
    assert "/static/vendor/htmx/htmx-2.0.11.min.js" in html
    assert 'hx-get="/support/suggest/"' in html
    assert "unpkg" not in html and "cdn" not in html.lower()


def test_suggestions_follow_what_the_customer_types_in_one_logged_search(client, vpn, internal):
    first = suggest(client, "vpn")
    second = suggest(
        client, "VPN keeps disconnecting", "It disconnects every few minutes", token_in(first)
    )

    assert "VPN disconnects every few minutes" in second
    assert "This solved my problem" in second
    assert "failover runbook" not in second  # agent-only, never on the customer's form
    log = SearchLog.objects.get()  # one row per form, refined as they type
    assert (log.query, log.source, log.results_count) == ("VPN keeps disconnecting", "web_form", 1)


def test_no_suggestion_for_unrelated_text(client, vpn):
    fragment = suggest(client, "Invoice address wrong", "Please change the billing address")
    assert "These articles" not in fragment
    assert SearchLog.objects.get().results_count == 0


def test_a_forged_search_token_starts_a_new_search_instead_of_editing_someone_elses(client, vpn):
    suggest(client, "vpn disconnects")
    victim = SearchLog.objects.get()
    suggest(client, "something else entirely", token=f"{victim.pk}:forged")
    victim.refresh_from_db()
    assert victim.query == "vpn disconnects"
    assert SearchLog.objects.count() == 2


def test_this_solved_it_records_a_deflection_and_opens_no_ticket(client, vpn):
    token = token_in(suggest(client, "VPN keeps disconnecting"))

    response = client.post(
        "/support/solved-it/",
        {"article": vpn.pk, "subject": "VPN keeps disconnecting", "suggestion_search": token},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Glad that helped" in response.content.decode()
    assert not Ticket.objects.exists()
    deflection = Deflection.objects.get()
    assert (deflection.article, deflection.query) == (vpn, "VPN keeps disconnecting")
    assert SearchLog.objects.get().clicked_article == vpn


def test_this_solved_it_works_without_javascript(client, vpn):
    response = client.post("/support/solved-it/", {"article": vpn.pk, "subject": "vpn"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Glad that helped" in page and "VPN disconnects every few minutes" in page
    assert Deflection.objects.count() == 1


def test_i_still_need_help_brings_back_what_the_customer_typed(client, vpn):
    typed = {
        "name": "Grace Hopper", "email": "grace@example.com",
        "subject": "VPN keeps disconnecting",
        "description": "Every ten minutes since the update, on Wi-Fi only.", "urgency": "high",
    }  # fmt: skip
    response = client.post("/support/solved-it/", {"article": vpn.pk, **typed}, **HTMX)
    assert 'href="/support/new/"' in response.content.decode()  # "I still need help"
    page = client.get("/support/new/").content.decode()
    assert "Every ten minutes since the update, on Wi-Fi only." in page
    assert 'value="grace@example.com"' in page and 'value="VPN keeps disconnecting"' in page
    assert '<option value="high" selected>' in page
    # Once: a later visit starts empty.
    assert "Every ten minutes" not in client.get("/support/new/").content.decode()


@pytest.mark.parametrize("article", ["internal", "missing", "not-a-number"])
def test_solved_it_with_an_article_customers_cannot_read_is_refused(client, internal, article):
    article_id = {"internal": internal.pk, "missing": 999_999, "not-a-number": "x"}[article]
    response = client.post("/support/solved-it/", {"article": article_id})
    assert response.status_code == 400
    assert "not available" in response.content.decode()
    assert not Deflection.objects.exists()


def test_solved_it_requires_the_csrf_token(vpn):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/support/solved-it/", {"article": vpn.pk}).status_code == 403
    assert not Deflection.objects.exists()


def test_suggestions_are_rate_limited_per_client(client, vpn, settings):
    for _ in range(60):
        suggest(client, "vpn")
    assert client.get("/support/suggest/", {"subject": "vpn"}).status_code == 429


def test_portal_search_is_logged_and_the_article_opened_from_it_is_credited(client, vpn):
    page = client.get("/kb/search/", {"q": "vpn"}).content.decode()
    log = SearchLog.objects.get()
    assert (log.query, log.source, log.results_count, log.by_agent) == ("vpn", "portal", 1, False)

    link = page.split('href="/kb/access/vpn-disconnects-every-few-minutes/')[1].split('"')[0]
    assert client.get(f"/kb/access/vpn-disconnects-every-few-minutes/{link}").status_code == 200
    log.refresh_from_db()
    assert log.clicked_article == vpn


def test_a_forged_click_reference_is_ignored(client, vpn):
    client.get("/kb/search/", {"q": "vpn"})
    client.get("/kb/access/vpn-disconnects-every-few-minutes/", {"search": "1:forged"})
    assert SearchLog.objects.get().clicked_article is None


def test_api_search_returns_a_search_reference_carried_by_each_result_url(api, agent_api, vpn):
    body = api.get("/api/v1/kb/search", {"q": "vpn"}).json()
    assert body["results"][0]["url"].endswith(f"?search={body['search'].replace(':', '%3A')}")
    agent_api.get("/api/v1/kb/search", {"q": "vpn"})
    assert list(SearchLog.objects.order_by("id").values_list("source", "by_agent")) == [
        ("api", False),
        ("api", True),
    ]


def test_this_solved_it_sent_again_for_one_search_is_one_deflection(client, vpn):
    token = token_in(suggest(client, "VPN keeps disconnecting"))
    solved = {"article": vpn.pk, "subject": "VPN keeps disconnecting", "suggestion_search": token}

    for _ in range(3):
        assert Client().post("/support/solved-it/", solved).status_code == 302

    assert Deflection.objects.count() == 1


def test_this_solved_it_from_one_address_is_counted_a_limited_number_of_times(vpn, settings):
    settings.HELPDESK_KB_SOLVED_PER_HOUR = 2

    for _ in range(3):  # no search reference: a script posting the form again and again
        response = Client().post("/support/solved-it/", {"article": vpn.pk, "subject": "vpn"})
        assert response.status_code == 302  # the customer's page is the same

    assert Deflection.objects.count() == 2


def test_suggestions_and_this_solved_it_work_while_the_cache_is_down(client, vpn, settings):
    # Redis (the limits' counters) unreachable: the customer is still answered.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    fragment = suggest(client, "VPN keeps disconnecting")
    assert "VPN disconnects every few minutes" in fragment

    response = client.post(
        "/support/solved-it/",
        {"article": vpn.pk, "subject": "VPN", "suggestion_search": token_in(fragment)},
        **HTMX,
    )
    assert response.status_code == 200 and "Glad that helped" in response.text
    assert Deflection.objects.count() == 1
