"""Slack reads a message's text as mrkdwn, and mrkdwn has no escape for `*`, `_`, `~` or a
backtick: what a customer wrote (the subject, their name) is sent as rich text, whose text
elements Slack shows as they are, never as formatting, a link or a mention; our own words
keep their formatting (a rule's own `*bold*`). The plain `text` is
Slack's fallback for notifications: `&`, `<` and `>` escaped there, as Slack asks."""

from typing import Any

import pytest

from tests.automation.test_webhooks import make_hook, receiver  # noqa: F401 (a fixture)
from tickets.automation import dispatch
from tickets.automation.manage import trigger_save

pytestmark = pytest.mark.django_db

HOSTILE_SUBJECT = "*Urgent* _now_ ~old~ `rm -rf` <!channel> <https://evil.example|bank> & co"
ESCAPED_SUBJECT = (
    "*Urgent* _now_ ~old~ `rm -rf` &lt;!channel&gt; &lt;https://evil.example|bank&gt; &amp; co"
)


@pytest.fixture(autouse=True)
def _rules(celery_eager: Any) -> None:
    dispatch.forget_rules_in_use()


def rendered(payload: dict[str, Any]) -> list[tuple[str, dict[str, bool]]]:
    """What Slack shows of the message's blocks: each piece of text with its style. A
    payload that is not one rich text section of text elements fails here."""
    [block] = payload["blocks"]
    assert block["type"] == "rich_text"
    [section] = block["elements"]
    assert section["type"] == "rich_text_section"
    shown = []
    for element in section["elements"]:
        assert element["type"] == "text" and element["text"]
        assert set(element) <= {"type", "text", "style"}
        shown.append((element["text"], element.get("style", {})))
    return shown


def test_a_customers_subject_reaches_slack_literally(
    open_ticket,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    make_hook(receiver, format="slack", events=["ticket.created"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(subject=HOSTILE_SUBJECT)

    [got] = receiver.requests
    assert rendered(got.json) == [
        (f"{ticket.reference} ", {}),
        (HOSTILE_SUBJECT, {}),  # as typed: no bold, italics, code, mention or link
        (": Ticket created", {}),
    ]
    assert got.json["text"] == f"{ticket.reference} {ESCAPED_SUBJECT}: Ticket created"
    assert not any(name.startswith("X-Helpdesk") for name in got.headers)


def test_a_rule_keeps_its_own_formatting_and_shows_the_customers_literally(
    open_ticket,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    hook = make_hook(receiver, format="slack", events=[])
    trigger_save(
        trigger=None,
        name="Tell the channel",
        events=["ticket.created"],
        conditions=None,
        actions=[
            {
                "type": "webhook",
                "value": hook.pk,
                "text": "*New* from {{ customer.name }} on {{ ticket.reference }}: "
                "{{ ticket.subject }} _please look_",
            }
        ],
        actor=None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(subject=HOSTILE_SUBJECT, sender_name="*Ann* <@U123> _CEO_")

    [got] = receiver.requests
    assert rendered(got.json) == [
        ("New", {"bold": True}),  # the rule's own mrkdwn
        (" from ", {}),
        ("*Ann* <@U123> _CEO_", {}),  # the customer's name, as typed
        (" on ", {}),
        (ticket.reference, {}),
        (": ", {}),
        (HOSTILE_SUBJECT, {}),
        (" ", {}),
        ("please look", {"italic": True}),
    ]
    assert got.json["text"] == (
        f"*New* from *Ann* &lt;@U123&gt; _CEO_ on {ticket.reference}: {ESCAPED_SUBJECT} "
        "_please look_"
    )
