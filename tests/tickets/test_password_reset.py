"""Staff password reset: the same answer as fast for every address; the mail from a worker."""

import re

import pytest
from django.core import mail
from django.test import Client

from tests.outages import cache_down  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_the_request_looks_nothing_up_and_sends_nothing(client, agent):
    known = client.post("/accounts/password_reset/", {"email": agent.email})
    unknown = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert mail.outbox == []


def test_the_worker_mails_a_link_to_the_public_address(client, agent, celery_eager, settings):
    settings.PUBLIC_BASE_URL = "https://help.example.com"

    client.post("/accounts/password_reset/", {"email": agent.email}, HTTP_HOST="localhost")
    client.post("/accounts/password_reset/", {"email": "nobody@example.com"})

    [message] = mail.outbox
    assert message.to == [agent.email]
    link = re.search(r"\S+/accounts/reset/\S+/", message.body).group(0)
    assert link.startswith("https://help.example.com/accounts/reset/")
    assert "Choose a new password" in client.get(link, follow=True).text


def test_links_for_one_address_are_limited(client, agent, celery_eager):
    """Else anyone could fill a colleague's mailbox with reset mails (or the mail queue)."""
    for _ in range(3):
        assert client.post("/accounts/password_reset/", {"email": agent.email}).status_code == 302

    refused = client.post("/accounts/password_reset/", {"email": agent.email.upper()})

    assert refused.status_code == 429
    assert "several links in a short time" in refused.content.decode()
    assert len(mail.outbox) == 3
    # Another address is answered as before (the limit says nothing of who has an account).
    other = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert other.status_code == 302


def test_links_asked_from_one_client_are_limited(agent, celery_eager):
    client = Client()
    for n in range(20):
        client.post("/accounts/password_reset/", {"email": f"someone{n}@example.com"})

    refused = client.post("/accounts/password_reset/", {"email": agent.email})

    assert refused.status_code == 429
    assert mail.outbox == []


@pytest.mark.usefixtures("cache_down")
def test_a_link_is_sent_while_the_cache_is_down(client, agent, celery_eager):
    # Redis (the limit's counters) unreachable: the link goes, not a server error.
    response = client.post("/accounts/password_reset/", {"email": agent.email}, follow=True)

    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == [agent.email]


def test_asking_while_the_broker_is_down_says_so_and_keeps_the_address(client, agent, celery_eager):
    # Redis is the task queue too: with it down, the mail cannot be queued. Said, not a 500.
    from tests.outages import broker_at

    celery_eager.conf.task_always_eager = False  # queued, as in production
    with broker_at("redis://127.0.0.1:1/0"):
        response = client.post("/accounts/password_reset/", {"email": agent.email})

    assert response.status_code == 503
    assert "could not send you a link just now" in response.text
    assert f'value="{agent.email}"' in response.text
    assert mail.outbox == []
