"""Staff password reset: the same answer as fast for every address; the mail from a worker."""

import re

import pytest
from django.core import mail
from django.test import Client

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
