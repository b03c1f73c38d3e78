"""The agents' workspace in German: an agent's own language (My settings), else the
browser's. The queue, a ticket, the team page and the view editor speak it, flash messages
and form errors too; an English agent's pages stay as they were."""

import re
import struct
from html import unescape
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils.translation.trans_real import DjangoTranslation

from helpdesk.catalogue import process_version
from tests.agent_settings.conftest import settings_form
from tests.factories import LeadFactory
from tickets.models import AgentProfile

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}

# (page, what a German agent reads, what an English agent reads instead)
QUEUE = (
    ["Alle offenen", "Mit den ausgewählten Tickets", "Zuständig", "Priorität", "Ansicht speichern",
     "Tastenkürzel", "Meine Einstellungen", "Neu"],
    ["All open", "With the ticked tickets", "Assignee", "Priority", "Save view",
     "Keyboard shortcuts", "My settings", "New"],
)  # fmt: skip
TICKET = (
    ["Dem Kunden antworten", "Interne Notiz (Kunden sehen sie nie)", "Nebengespräche",
     "Verwandte Tickets", "Ebene 1", "Wissensdatenbank", "Antwort senden"],
    ["Reply to the customer", "Internal note (customers never see it)", "Side conversations",
     "Related tickets", "Tier 1", "Knowledge base", "Send reply"],
)  # fmt: skip
TEAM = (
    ["Rolle", "Ebenen", "Neues Team", "Team anlegen", "Teamleitung", "Noch keine Teams."],
    ["Role", "Tiers", "New team", "Make the team", "Lead", "No teams yet."],
)  # fmt: skip
VIEW_EDITOR = (
    ["Neue Ansicht", "Wer sie sieht", "Geteilt mit", "Spalten", "Sortieren nach", "Nur ich",
     "Ansicht speichern", "Meine offenen Tickets"],
    ["New view", "Who sees it", "Shared with", "Columns", "Sort by", "Only me", "Save view",
     "My open tickets"],
)  # fmt: skip


@pytest.fixture
def lead() -> Any:
    return LeadFactory(username="lena", first_name="Lena", tiers=[1])


@pytest.fixture
def pages(lead: Any, open_ticket: Any) -> dict[str, tuple[str, tuple[list[str], list[str]]]]:
    ticket = open_ticket(tier_level=1, subject="Drucker druckt nicht")
    return {
        "queue": ("/agent/queue/all/", QUEUE),
        "ticket": (f"/agent/tickets/{ticket.pk}/", TICKET),
        "team": ("/agent/team/", TEAM),
        "view editor": ("/agent/views/new/", VIEW_EDITOR),
    }


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def _read(client: Client, path: str, **headers: Any) -> str:
    response = client.get(path, **headers)
    assert response.status_code == 200, path
    return response.content.decode()


PAGE_NAMES = ["queue", "ticket", "team", "view editor"]


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_an_agent_who_chose_german_reads_the_page_in_german(lead, pages, name):
    client = _signed_in(lead)
    client.post("/agent/settings/", settings_form(language="de"))
    path, (german, english) = pages[name]
    page = _read(client, path, **ENGLISH)  # their choice wins over the browser's
    missing = [text for text in german if text not in page]
    assert not missing, missing
    left = [text for text in english if re.search(rf">\s*{re.escape(text)}\s*<", page)]
    assert not left, left
    assert _lang(page) == "de"


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_an_english_agents_pages_are_unchanged(lead, pages, name):
    path, (german, english) = pages[name]
    for headers in ({}, ENGLISH):
        page = _read(_signed_in(lead), path, **headers)
        missing = [text for text in english if text not in page]
        assert not missing, missing
        assert not [text for text in german if text in page and text not in english]
        assert _lang(page) == "en"


def test_without_a_choice_the_workspace_follows_the_browser(lead, pages):
    assert AgentProfile.objects.get(user=lead).language == ""
    client = _signed_in(lead)
    assert "Mit den ausgewählten Tickets" in _read(client, "/agent/queue/all/", **GERMAN)
    assert "With the ticked tickets" in _read(client, "/agent/queue/all/", **ENGLISH)
    # Choosing English in My settings keeps the workspace English in a German browser.
    client.post("/agent/settings/", settings_form(language="en"))
    assert "With the ticked tickets" in _read(client, "/agent/queue/all/", **GERMAN)


def test_flash_messages_and_form_errors_are_german_too(lead, open_ticket):
    ticket = open_ticket(tier_level=1)
    client = _signed_in(lead)
    client.post("/agent/settings/", settings_form(language="de"))
    page = client.post(f"/agent/tickets/{ticket.pk}/note/", {"text": ""}, follow=True)
    assert "Eine Notiz braucht Text." in page.content.decode()
    page = client.post("/agent/views/new/", {"name": "Meine", "sharing": "tier"})
    assert "Wählen Sie die Ebene, mit der die Ansicht geteilt wird." in page.content.decode()
    saved = client.post("/agent/settings/", settings_form(language="de"), follow=True)
    assert "Ihre Einstellungen sind gespeichert." in saved.content.decode()


def test_status_and_priority_labels_are_translated_but_not_the_data(lead, open_ticket):
    ticket = open_ticket(tier_level=1, subject="Printer does not print", priority="urgent")
    client = _signed_in(lead)
    page = _read(client, f"/agent/tickets/{ticket.pk}/", **GERMAN)
    assert '<span class="status status-new">Neu</span>' in page
    assert '<span class="priority priority-urgent">Dringend</span>' in page
    assert "Printer does not print" in page  # the subject is the customer's own words
    queue = _read(client, "/agent/queue/all/", **GERMAN)
    assert ">Dringend</span>" in queue and ">Urgent</span>" not in queue


def test_plural_forms_follow_the_count(lead, open_ticket):
    first, second = open_ticket(tier_level=1), open_ticket(tier_level=1)
    client = _signed_in(lead)
    client.post("/agent/settings/", settings_form(language="de"))
    form = {"tickets": [first.pk, second.pk], "action": "assign_me", "next": "/agent/"}
    page = client.post("/agent/bulk/", form, follow=True).content.decode()
    assert "Für 2 Tickets erledigt." in page
    page = client.post("/agent/bulk/", {**form, "tickets": [first.pk]}, follow=True)
    assert "Für 1 Ticket erledigt." in page.content.decode()


def test_the_workspace_scripts_speak_the_agents_language(lead):
    # The catalogue the workspace's pages load, under /agent/ where My settings applies.
    client = _signed_in(lead)
    client.post("/agent/settings/", settings_form(language="de"))
    page = client.get("/agent/queue/mine/", **ENGLISH).content.decode()
    assert 'src="/agent/jsi18n/de/?v=' in page  # its language's, kept (below)
    catalogue = client.get("/agent/jsi18n/", **ENGLISH).content.decode()
    assert "Ihr nicht gesendeter Text wurde aufbewahrt." in catalogue
    english = _signed_in(LeadFactory(username="eve", tiers=[1]))
    assert "aufbewahrt" not in english.get("/agent/jsi18n/", **ENGLISH).content.decode()


def _catalogue_url(page: str) -> str:
    found = re.search(r'<script src="(/agent/jsi18n/[^"]*)"', page)
    assert found, "no catalogue script"
    return unescape(found.group(1))


def test_the_pages_link_the_agents_languages_catalogue_kept_for_a_year(lead):
    client = _signed_in(lead)
    client.post("/agent/settings/", settings_form(language="de"))
    url = _catalogue_url(client.get("/agent/queue/mine/", **ENGLISH).content.decode())
    assert re.fullmatch(r"/agent/jsi18n/de/\?v=\w+", url)
    english = _signed_in(LeadFactory(username="eve", tiers=[1]))
    english_url = _catalogue_url(english.get("/agent/queue/mine/", **ENGLISH).content.decode())
    assert re.fullmatch(r"/agent/jsi18n/en/\?v=\w+", english_url)

    with mock.patch("django.views.i18n.DjangoTranslation", wraps=DjangoTranslation) as built:
        first = client.get(url)
        again = english.get(url)  # the URL names the language, whoever asks
        english_catalogue = english.get(english_url)

    assert first.status_code == again.status_code == 200
    assert first["Content-Type"].startswith("text/javascript")
    assert "Ihr nicht gesendeter Text wurde aufbewahrt." in first.content.decode()
    assert again.content == first.content and again["Content-Language"] == "de"
    assert "aufbewahrt" not in english_catalogue.content.decode()
    # Built once per language; the second reader got the kept one.
    assert built.call_count == 2
    for response in (first, again, english_catalogue):
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"max-age=31536000", "immutable", "public"} <= cache_control
        assert not response.has_header("Vary")  # kept whatever the cookies


def test_a_catalogue_asked_for_by_an_old_version_is_not_kept(lead):
    client = _signed_in(lead)
    stale = client.get("/agent/jsi18n/de/?v=old")
    assert "Ihr nicht gesendeter Text wurde aufbewahrt." in stale.content.decode()
    assert "immutable" not in stale.get("Cache-Control", "")
    assert client.get("/agent/jsi18n/xx/").status_code == 404


@pytest.fixture
def new_process() -> Any:
    """What a process keeps of the catalogues' versions, forgotten (a restart) before and
    after the test."""
    process_version.cache_clear()
    yield process_version.cache_clear
    process_version.cache_clear()


def _release(root: Path, name: str, saved: str) -> Path:
    """A release's compiled German script strings: "Saved" said as `saved`."""
    folder = root / name / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"
    (folder / "djangojs.mo").write_bytes(_mo({"": header, "Saved": saved}))
    return root / name


def _mo(messages: dict[str, str]) -> bytes:
    """A GNU .mo file (what msgfmt writes) holding `messages`."""
    keys = sorted(messages)
    ids = [key.encode() for key in keys]
    texts = [messages[key].encode() for key in keys]
    start = 28 + 16 * len(keys)  # the header, then both tables of (length, offset)
    table, blob = [], b""
    for string in [*ids, *texts]:
        table += [len(string), start + len(blob)]
        blob += string + b"\0"
    count = len(keys)
    header = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    return header + struct.pack(f"<{len(table)}I", *table) + blob


def test_a_deploy_with_new_translations_links_a_new_catalogue(
    lead, settings, tmp_path, new_process
):
    """A new release (a new process) with other translations: the pages link another URL,
    and what it serves is the new catalogue, not what the last release kept."""
    settings.LOCALE_PATHS = [_release(tmp_path, "1", "Gespeichert (alt)")]
    client = _signed_in(lead)
    client.post("/agent/settings/", settings_form(language="de"))
    before = _catalogue_url(client.get("/agent/queue/mine/").content.decode())
    assert "Gespeichert (alt)" in client.get(before).content.decode()

    settings.LOCALE_PATHS = [_release(tmp_path, "2", "Gespeichert (neu)")]
    new_process()
    after = _catalogue_url(client.get("/agent/queue/mine/").content.decode())

    assert after != before and after.startswith("/agent/jsi18n/de/?v=")
    catalogue = client.get(after).content.decode()
    assert "Gespeichert (neu)" in catalogue and "(alt)" not in catalogue
    # The same translations elsewhere (another server of the release): the same URL.
    settings.LOCALE_PATHS = [_release(tmp_path, "2-copy", "Gespeichert (neu)")]
    new_process()
    assert _catalogue_url(client.get("/agent/queue/mine/").content.decode()) == after
