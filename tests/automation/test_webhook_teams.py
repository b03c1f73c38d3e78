"""Microsoft Teams reads a connector card's text as Markdown and limited HTML: what a
customer wrote (the subject, their name) reaches the agents' channel as they typed it, never
as a link, formatting or markup; the admin's own text of a rule's action keeps its Markdown."""

from typing import Any

import pytest

from tests.automation.test_webhooks import make_hook, receiver  # noqa: F401 (a fixture)
from tickets.automation import dispatch
from tickets.automation.manage import trigger_save

pytestmark = pytest.mark.django_db

HOSTILE_SUBJECT = "[Reset your password](https://evil.example/login) **now** <b>#1</b> _x_"
# As Teams shows it literally: Markdown's characters escaped, HTML's as entities.
LITERAL_SUBJECT = (
    r"\[Reset your password\]\(https://evil\.example/login\) \*\*now\*\* "
    r"&lt;b&gt;\#1&lt;/b&gt; \_x\_"
)


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


def test_a_customers_subject_reaches_teams_literally(
    open_ticket,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    make_hook(receiver, format="teams", events=["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(subject=HOSTILE_SUBJECT)

    [got] = receiver.requests
    assert got.json == {"text": f"{ticket.reference} {LITERAL_SUBJECT}: Ticket created"}


def test_a_rule_keeps_its_own_markdown_and_quotes_the_customers(
    open_ticket,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    hook = make_hook(receiver, format="teams", events=[])
    trigger_save(
        trigger=None,
        name="Tell the channel",
        events=["ticket.created"],
        conditions=None,
        actions=[
            {
                "type": "webhook",
                "value": hook.pk,
                "text": "**New** from {{ customer.name }}: {{ ticket.subject }}",
            }
        ],
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(subject=HOSTILE_SUBJECT, sender_name="*Ann* [CEO](https://evil.example)")

    [got] = receiver.requests
    assert got.json == {
        "text": r"**New** from \*Ann\* \[CEO\]\(https://evil\.example\): " + LITERAL_SUBJECT
    }
