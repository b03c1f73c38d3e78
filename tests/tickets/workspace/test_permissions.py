"""Every workspace URL, for every kind of visitor: anonymous, two customers, agent, admin."""

import pytest

from tests.factories import CustomerFactory, UserFactory
from tickets.models import SavedView

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls(open_ticket, agent) -> list[tuple[str, str]]:
    ticket = open_ticket()
    saved = SavedView.objects.create(owner=agent, name="Mine", query="view=mine")
    t = f"/agent/tickets/{ticket.pk}"
    return [
        ("get", "/agent/"),
        ("get", "/agent/queue/mine/"),
        ("get", "/agent/queue/tier-1/"),
        ("get", "/agent/notifications/"),
        ("get", "/agent/kb/?q=vpn"),
        ("get", f"{t}/"),
        ("get", f"{t}/kb/"),
        ("get", f"/agent/views/{saved.pk}/"),
        ("post", "/agent/views/"),
        ("post", f"/agent/views/{saved.pk}/delete/"),
        ("post", "/agent/bulk/"),
        ("post", f"{t}/reply/"),
        ("post", f"{t}/note/"),
        ("post", f"{t}/change/"),
        ("post", f"{t}/tier/"),
        ("post", "/agent/notifications/read/"),
    ]


def customer(name: str):
    user = UserFactory(username=name)
    CustomerFactory(user=user)
    return user


def test_anonymous_visitors_are_sent_to_sign_in_everywhere(client, urls):
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_customers_get_403_everywhere_and_change_nothing(client, urls):
    for name in ("customer-a", "customer-b"):
        client.force_login(customer(name))
        for method, url in urls:
            assert getattr(client, method)(url).status_code == 403, (name, url)
    assert SavedView.objects.count() == 1


@pytest.mark.parametrize("who", ["agent", "admin_user"])
def test_agents_and_admins_reach_every_page(client, urls, who, request):
    client.force_login(request.getfixturevalue(who))
    for method, url in urls:
        if method == "get":
            status = client.get(url, follow=True).status_code
            # Another agent's saved view is not theirs to open.
            expected = 404 if "/views/" in url and who == "admin_user" else 200
            assert status == expected, url
