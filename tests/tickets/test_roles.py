"""Role groups get their permissions after migrating, including those of apps listed later."""

import pytest
from django.contrib.auth.models import Group

from tickets.roles import ADMINS_GROUP, AGENTS_GROUP, is_admin

pytestmark = pytest.mark.django_db


def perms(group: str) -> set[str]:
    found = Group.objects.get(name=group).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in found}


def test_agents_write_articles_and_work_tickets_but_configure_nothing():
    agents = perms(AGENTS_GROUP)
    assert {"knowledge.add_article", "knowledge.change_article", "tickets.change_ticket"} <= agents
    assert "tickets.change_tier" not in agents
    assert "knowledge.delete_article" not in agents


def test_admins_configure_every_app():
    admins = perms(ADMINS_GROUP)
    assert {
        "tickets.change_tier",
        "knowledge.view_searchlog",
        "channels_ingest.change_mailbox",
    } <= admins


def test_is_admin(agent, admin_user, customer_user, django_user_model):
    staff_admin = django_user_model.objects.create_user("cfg", is_staff=True)
    staff_admin.groups.add(Group.objects.get(name=ADMINS_GROUP))
    assert [is_admin(u) for u in (agent, admin_user, customer_user, staff_admin)] == [
        False,
        True,
        False,
        True,
    ]
