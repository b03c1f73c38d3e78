"""The admins' self-service report: deflection rate and the searches that found nothing."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from knowledge import services as kb
from knowledge.models import SearchSource, Synonym
from tickets.models import Ticket
from tickets.services import self_service

pytestmark = pytest.mark.django_db
URL = "/admin/reports/self-service/"


@pytest.fixture
def activity(kb_answer, open_ticket: Callable[..., Ticket]) -> None:
    """3 tickets (one resolved by tier 0 after an offer), 1 abandoned form, some searches."""
    article = kb_answer
    offered = open_ticket(tier_level=0)
    self_service.offer_articles(offered)  # kb_answer matches open_ticket's default text
    assert self_service.ticket_resolve_deflected(ticket_id=offered.pk, via="link")
    open_ticket(), open_ticket()
    kb.deflection_record(article=article, query="vpn drops", search_id=None)
    for query, results in [("Printer jam", 0), ("printer jam", 0), ("SSO login", 2), ("vpn", 1)]:
        kb.search_record(query=query, source=SearchSource.PORTAL, results_count=results)
    clicked = kb.search_record(query="vpn drops", source=SearchSource.WEB_FORM, results_count=1)
    kb.search_record_click(search_id=clicked.pk, article=article)
    kb.search_record(query="agent lookup", source=SearchSource.API, results_count=0, by_agent=True)
    old = kb.search_record(query="ancient", source=SearchSource.PORTAL, results_count=0)
    old.created_at = timezone.now() - timedelta(days=40)
    old.save()


def test_admins_see_the_deflection_rate_and_the_top_failed_searches(client, admin_user, activity):
    client.force_login(admin_user)
    html = client.get(URL).content.decode()

    assert "50%" in html  # (1 form + 1 tier-0) of (3 tickets + 1 form)
    assert "2 of 4 requests were answered by self-service" in html
    failed = html.split('id="failed-searches"')[1].split("</table>")[0]
    assert failed.index("printer jam</td><td>2</td>") < failed.index("sso login")
    assert "vpn drops" not in failed  # opened an article
    assert "agent lookup" not in failed  # agents' searches are not customers' gaps
    assert "ancient" not in failed  # outside the last 30 days


def test_the_period_can_be_widened(client, admin_user, activity):
    client.force_login(admin_user)
    assert "ancient" in client.get(URL, {"days": 90}).content.decode()


def test_an_unknown_period_falls_back_to_30_days_with_an_error(client, admin_user, activity):
    client.force_login(admin_user)
    response = client.get(URL, {"days": "9999"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_admin_index_links_the_report(client, admin_user):
    client.force_login(admin_user)
    assert URL in client.get("/admin/").content.decode()


def test_agents_and_customers_cannot_read_the_report(client, agent, customer_user):
    assert client.get(URL).status_code == 302  # to the admin login
    client.force_login(agent)
    assert client.get(URL).status_code == 403
    assert URL not in client.get("/admin/").content.decode()
    client.force_login(customer_user)
    assert client.get(URL).status_code == 302


def test_a_failed_search_becomes_a_synonym_in_one_click(
    client, admin_user, make_kb_article, celery_eager, django_capture_on_commit_callbacks
):
    make_kb_article("Wireless network drops", "Move closer to the access point.")
    kb.search_record(query="airwaves", source=SearchSource.PORTAL, results_count=0)
    client.force_login(admin_user)
    assert "airwaves" in client.get(URL).content.decode()

    with django_capture_on_commit_callbacks(execute=True):  # the re-index task
        response = client.post(
            f"{URL}synonym/", {"query": "airwaves", "means": "wireless network"}, follow=True
        )

    assert "Synonyms now: wifi" in response.content.decode()
    found = client.get("/api/v1/kb/search", {"q": "airwaves"}).json()["results"]
    assert [r["title"] for r in found] == ["Wireless network drops"]


def test_a_failed_search_is_added_to_the_article_that_answers_it(
    client, admin_user, make_kb_article
):
    make_kb_article("Keyboard shortcuts", "Press ? to see every shortcut.")
    client.force_login(admin_user)

    response = client.post(
        f"{URL}search-words/", {"query": "hotkeys cheat sheet", "article": "keyboard-shortcuts"},
        follow=True,
    )  # fmt: skip

    assert "now finds" in response.content.decode()
    found = client.get("/api/v1/kb/search", {"q": "cheat sheet"}).json()["results"]
    assert [r["title"] for r in found] == ["Keyboard shortcuts"]


def test_only_admins_teach_the_search(client, agent):
    client.force_login(agent)
    response = client.post(f"{URL}synonym/", {"query": "x", "means": "y"})
    assert response.status_code in (302, 403)
    assert not Synonym.objects.filter(words__contains="y, x").exists()


@pytest.mark.parametrize("means", ["Airwaves", "AIRWAVES "])
def test_a_failed_search_is_not_made_a_synonym_of_itself(client, admin_user, means):
    kb.search_record(query="airwaves", source=SearchSource.PORTAL, results_count=0)
    client.force_login(admin_user)

    response = client.post(f"{URL}synonym/", {"query": "airwaves", "means": means}, follow=True)

    assert "the search reads them as one" in response.content.decode()
    assert not Synonym.objects.filter(words__icontains="airwaves").exists()


def test_an_article_address_that_is_not_one_is_said_back(client, admin_user, make_kb_article):
    make_kb_article("Keyboard shortcuts", "Press ? to see every shortcut.")
    client.force_login(admin_user)

    response = client.post(
        f"{URL}search-words/", {"query": "hotkeys", "article": "Keyboard shortcuts"}, follow=True
    )

    page = response.content.decode()
    assert "No published article has the address “Keyboard shortcuts”" in page
    assert "keyboard-shortcuts" in page  # offered in the list to choose from


def test_a_german_admin_reads_the_report_in_german(client, admin_user, activity):
    client.force_login(admin_user)

    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()

    for said in [
        "Selbstbedienung und Umlenkung",  # the title
        "Zeitraum", "Letzte 30 Tage", "Umlenkungsquote",
        "2 von 4 Anfragen wurden durch Selbstbedienung beantwortet.",
        "Suchen der Kunden", "Ohne jedes Ergebnis",
        "Häufigste erfolglose Suchen (kein Artikel geöffnet): Diese als Nächstes schreiben",
        "Als Synonym hinzufügen", "Meistgelesene Artikel (insgesamt)",
        "Am wenigsten hilfreiche Artikel: Diese zuerst verbessern",
    ]:  # fmt: skip
        assert said in html, said
    for english in ["Deflection rate", "requests were answered", "Customer searches", "Times"]:
        assert english not in html, english
    index = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Selbstbedienung und Umlenkung" in index


def test_a_german_admin_is_told_in_german_what_teaching_the_search_did(
    client, admin_user, kb_answer
):
    client.force_login(admin_user)

    response = client.post(
        "/admin/reports/self-service/search-words/",
        {"query": "tunnel broke", "article": kb_answer.slug},
        HTTP_ACCEPT_LANGUAGE="de",
        follow=True,
    )

    assert f"„tunnel broke“ findet jetzt „{kb_answer.title}“." in response.content.decode()
