"""Views that filter by a custom field (saved from a queue's filters): their condition is
kept when the view is edited, and one that no longer holds (its choice removed, its field
made inactive) leaves every page working and says to edit the view."""

import re
from typing import Any

import pytest

from tests.conftest import browser
from tests.factories import AgentFactory
from tests.fields.conftest import make_field
from tickets.fields.services import ticket_set_fields
from tickets.models import FieldKind, SavedView, TicketField, ViewSharing
from tickets.services.saved_views import saved_view_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def pro_view(lead: Any, agent: Any, open_ticket: Any) -> SavedView:
    """A view shared with everyone of the tickets on the "pro" plan (one of two)."""
    make_field("plan", FieldKind.DROPDOWN, "Plan", ("basic", "pro"))
    for plan in ("pro", "basic"):
        ticket_set_fields(ticket=open_ticket(), values={"plan": plan}, actor=agent)
    return saved_view_save(
        view=None, name="Pro", query="view=all&cf=plan&cf_value=pro", actor=lead,
        sharing=ViewSharing.EVERYONE, columns=["reference"],
    )  # fmt: skip


def refs(html: str) -> list[str]:
    return re.findall(r'<span class="ref">(HD-\d+)</span>', html)


def sidebar_count(html: str, name: str) -> str | None:
    found = re.search(rf'>{name} <span class="count">(\d+)</span>', html)
    return found.group(1) if found else None


@pytest.mark.parametrize(
    "change",
    ["choice removed", "field inactive", "only field inactive"],
)
def test_a_view_whose_field_condition_no_longer_holds_leaves_the_pages_working(
    change, pro_view, lead
):
    if change == "choice removed":
        TicketField.objects.get(key="plan").choices.filter(value="pro").delete()
    else:
        if change == "field inactive":
            make_field("seats", FieldKind.NUMBER, "Seats")
        TicketField.objects.filter(key="plan").update(active=False)
    TicketField.objects.first().save()  # an admin's change: the fields are read again
    agent = browser(AgentFactory(username="arne", tiers=[1]))
    for client in (agent, browser(lead)):
        page = client.get("/agent/queue/all/")
        assert page.status_code == 200
        assert len(refs(page.content.decode())) == 2
        assert '>Pro <span class="count">\u2013</span>' in page.content.decode()  # no count
        view_page = client.get(f"/agent/views/{pro_view.pk}/")
        assert view_page.status_code == 200
        html = view_page.content.decode()
        assert "This view&#x27;s filters no longer make sense; edit the view." in html
        assert refs(html) == []


def test_editing_a_view_keeps_its_field_condition(pro_view, lead):
    client = browser(lead)
    assert "cf=plan" in pro_view.query
    form = client.get(f"/agent/views/{pro_view.pk}/").content.decode()
    assert re.search(r'<option value="plan" selected>', form)
    assert 'name="cf_value" value="pro"' in form
    data = {"name": "Pro plan", "sharing": "everyone", "queue": "all", "columns": ["reference"],
            "cf": "plan", "cf_value": "pro"}  # fmt: skip
    assert client.post(f"/agent/views/{pro_view.pk}/edit/", data).status_code == 302
    page = client.get(f"/agent/views/{pro_view.pk}/").content.decode()
    assert sidebar_count(page, "Pro plan") == "1" and len(refs(page)) == 1


def test_a_view_from_a_queues_field_filter_starts_with_its_condition(pro_view, lead):
    client = browser(lead)
    html = client.get("/agent/queue/all/", {"cf": "plan", "cf_value": "pro"}).content.decode()
    link = re.search(r'href="(/agent/views/new/\?[^"]+)" id="new-view-from-filters"', html)
    form = client.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert re.search(r'<option value="plan" selected>', form)
    assert 'name="cf_value" value="pro"' in form


def test_a_field_condition_that_cannot_hold_is_refused_in_the_editor(pro_view, lead):
    data = {"name": "Between", "sharing": "personal", "queue": "all", "columns": ["reference"],
            "cf": "plan", "cf_op": "between", "cf_min": "1"}  # fmt: skip
    response = browser(lead).post("/agent/views/new/", data)
    assert response.status_code == 400
    assert "Plan: only numbers and dates have a range." in response.content.decode()
    assert SavedView.objects.count() == 1
