"""The sidebar's set-up (tiers, the agent's tiers, saved views, admin link) is read once per
agent and kept until something it is read from changes, however it changes."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import sign_in
from tickets.models import SavedView, Tier
from tickets.roles import ADMINS_GROUP
from tickets.workspace import sidebar

pytestmark = pytest.mark.django_db

PAGE = "/agent/queue/mine/"


def page(client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


def statements(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        page(client)
    return [query["sql"] for query in captured.captured_queries]


# The tiers, the views, and the person's role (their groups' names).
SETUP_TABLES = ('FROM "tickets_tier"', 'FROM "tickets_savedview"', 'SELECT "auth_group"."name" AS')


def reads_setup(sql: list[str]) -> list[str]:
    return [table for table in SETUP_TABLES if any(table in statement for statement in sql)]


def nav(html: str) -> str:
    start = html.index('<nav class="agent-sidebar"')
    return html[start : html.index("</nav>", start)]


def count(html: str, label: str) -> int:
    return int(re.search(rf"{label} <span class=\"count\">(\d+)</span>", html).group(1))


def test_the_setup_is_read_once_and_the_page_stays_the_same(client, admin_user):
    admin_user.is_superuser = False  # an admin by group: the admin check is a query
    admin_user.save()
    client.force_login(admin_user)

    assert reads_setup(statements(client)) == list(SETUP_TABLES)
    first = page(client)
    warm = statements(client)

    assert reads_setup(warm) == []
    assert len(statements(client)) == len(warm)
    assert nav(page(client)) == nav(first)  # the same queues, counts and views
    assert ">Admin</a>" in first


def test_a_saved_view_shows_at_once_and_goes_at_once(agent_client, agent):
    assert "My views" not in page(agent_client)

    agent_client.post("/agent/views/", {"name": "Hot ones", "view": "all", "query": ""})
    assert "Hot ones" in nav(page(agent_client))

    saved = SavedView.objects.get(owner=agent)
    agent_client.post(f"/agent/views/{saved.pk}/delete/")
    assert "Hot ones" not in nav(page(agent_client))


def test_a_renamed_tier_shows_on_the_next_page(agent_client):
    page(agent_client)
    tier = Tier.objects.get(level=2)
    tier.name = "Deep technical"
    tier.save()

    assert "Tier 2 · Deep technical" in nav(page(agent_client))


def test_joining_a_tier_counts_its_unassigned_tickets(agent_client, agent, make_tickets):
    make_tickets(2, tier_level=2)
    assert count(page(agent_client), "Unassigned in my tiers") == 0

    agent.agent_profile.tiers.add(Tier.objects.get(level=2))
    assert count(page(agent_client), "Unassigned in my tiers") == 2

    agent.agent_profile.tiers.clear()
    assert count(page(agent_client), "Unassigned in my tiers") == 0


def test_the_admin_link_follows_group_membership(agent_client, agent):
    agent.is_staff = True
    agent.save()
    admins = Group.objects.get(name=ADMINS_GROUP)
    assert ">Admin</a>" not in page(agent_client)

    agent.groups.add(admins)
    assert ">Admin</a>" in page(agent_client)

    admins.user_set.remove(agent)
    assert ">Admin</a>" not in page(agent_client)


def test_a_page_built_during_a_change_is_not_kept_after_the_commit(
    agent, django_capture_on_commit_callbacks
):
    sidebar.agent_setup(agent)
    tier = Tier.objects.get(level=1)
    with django_capture_on_commit_callbacks(execute=True):
        tier.name = "Front line"
        tier.save()
        # Another process reading now sees the row as it was until the commit, and keeps
        # that under the version the change has just moved to.
        stale = sidebar._read_setup(agent)
        stale.tiers[1].name = "Frontline (old)"  # tier 1; tier 0 is self-service
        version = cache.get(sidebar._VERSION_KEY)
        cache.set(sidebar._ENTRY_KEY.format(user_id=agent.pk), (version, stale))
        assert sidebar.agent_setup(agent).tiers[1].name == "Frontline (old)"

    assert sidebar.agent_setup(agent).tiers[1].name == "Front line"


def test_signing_in_does_not_read_every_agents_setup_again(client, agent):
    agent.set_password("a long enough password 123")
    agent.save()
    sidebar.agent_setup(agent)
    version = cache.get(sidebar._VERSION_KEY)

    assert sign_in(client, agent.username, "a long enough password 123")
    assert cache.get(sidebar._VERSION_KEY) == version


def test_writes_the_sidebar_does_not_show_keep_every_agents_setup(agent, tier2_agent):
    """Routing writes a tier's last assignee for each ticket; customers sign up; agents go
    unavailable: none of that reads every agent's set-up again."""
    sidebar.agent_setup(agent)
    version = cache.get(sidebar._VERSION_KEY)

    tier = Tier.objects.get(level=1)
    tier.last_assigned = tier2_agent
    tier.save(update_fields=["last_assigned"])
    User.objects.create_user("new-customer", "new@example.com", "a long enough password 1")
    profile = agent.agent_profile
    profile.is_available = False
    profile.save()

    assert cache.get(sidebar._VERSION_KEY) == version
    with CaptureQueriesContext(connection) as captured:
        sidebar.agent_setup(agent)
    assert len(captured) == 0


def test_a_change_is_kept_when_the_cache_is_down(
    settings, caplog, django_capture_on_commit_callbacks
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    tier = Tier.objects.get(level=2)
    with django_capture_on_commit_callbacks(execute=True):
        tier.name = "Still saved"
        tier.save()

    assert Tier.objects.get(level=2).name == "Still saved"
    assert caplog.text.count("could not move the sidebar's version on") == 2


def test_the_header_counts_unread_notifications_and_chats_waiting_in_my_tiers(agent_client, agent):
    from django.utils import timezone

    from tickets.models import Notification
    from tickets.services import chat as chats

    html = page(agent_client)
    assert re.search(r'<span id="unread" class="badge">0</span>', html) and "0 waiting" in html
    for text in ("Escalated to you", "Assigned to you", "Seen already"):
        Notification.objects.create(user=agent, kind="assigned", text=text)
    Notification.objects.filter(text="Seen already").update(read_at=timezone.now())
    for n in range(3):
        chats.chat_start(name=f"C{n}", email=f"c{n}@example.com", text="Hi", client_id="x")
    html = page(agent_client)
    # The count is part of the link's name: "Notifications 2 unread".
    assert re.search(
        r'<span id="unread" class="badge">2</span><span class="visually-hidden"> unread</span>',
        html,
    )
    assert "3 waiting" in html
