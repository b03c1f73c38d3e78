"""Forms sent from a ticket page that is out of date, or sent twice: a colleague merged the
ticket since the page was loaded, or the agent pressed Send again while the first send was
on its way. Nothing lands where nobody will read it, and nothing goes out twice."""

import re

import pytest

from tickets import services
from tickets.models import Message, MessageKind, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged(open_ticket, agent) -> tuple[Ticket, Ticket]:
    """Two tickets of one customer, the first merged into the second (by a colleague, after
    the agent loaded the first one's page)."""
    first = open_ticket(tier_level=1, sender="grace@example.com", subject="VPN drops")
    second = open_ticket(tier_level=1, sender="grace@example.com", subject="VPN again")
    services.ticket_merge(source=first, target=second, actor=agent)
    first.refresh_from_db()
    return first, second


def test_a_note_sent_from_the_page_of_a_ticket_merged_since_is_refused(agent_client, merged):
    first, _second = merged

    response = agent_client.post(
        f"/agent/tickets/{first.pk}/note/", {"text": "Asked the network team."}, follow=True
    )

    page = response.content.decode()
    assert "was merged into another ticket" in page
    assert "#sent-note" not in response.redirect_chain[-1][0]  # the draft is kept
    assert not Message.objects.filter(body_text="Asked the network team.").exists()


def test_tags_set_from_the_page_of_a_ticket_merged_since_are_refused(agent_client, merged):
    first, _second = merged
    tags_before = sorted(first.tags.values_list("name", flat=True))

    response = agent_client.post(
        f"/agent/tickets/{first.pk}/change/", {"field": "tags", "value": "vpn, urgent"}, follow=True
    )

    assert "was merged into another ticket" in response.content.decode()
    assert sorted(first.tags.values_list("name", flat=True)) == tags_before


def test_the_api_refuses_tags_on_a_merged_ticket(agent_api, merged):
    first, _second = merged

    response = agent_api.patch(f"/api/v1/tickets/{first.pk}/", {"tags": ["vpn"]}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ticket_merged"
    assert not first.tags.exists()


def _form_key(html: str, form_action: str) -> str:
    """The hidden key of the form posting to `form_action` on the ticket page."""
    form = html.split(f'action="{form_action}"', 1)[1].split("</form>", 1)[0]
    found = re.search(r'name="once" value="([^"]+)"', form)
    assert found, "the form carries no key"
    return found.group(1)


def test_a_reply_sent_twice_from_one_page_goes_out_once(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1, sender="grace@example.com")
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    action = f"/agent/tickets/{ticket.pk}/reply/"
    sent = {"text": "Please restart the router.", "channel": "email"}
    sent["once"] = _form_key(page, action)

    first = agent_client.post(action, sent)
    again = agent_client.post(action, sent)

    assert first.status_code == again.status_code == 302
    assert again["Location"].endswith("#sent-reply")  # the page drops the draft: it went
    replies = Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND)
    assert replies.count() == 1


def test_two_replies_from_two_loads_of_the_page_both_go_out(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1, sender="grace@example.com")
    action = f"/agent/tickets/{ticket.pk}/reply/"
    for _ in range(2):
        page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
        sent = {"text": "Thanks!", "channel": "email", "once": _form_key(page, action)}
        assert agent_client.post(action, sent).status_code == 302

    assert Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).count() == 2


def test_a_refused_reply_sent_again_after_correcting_it_goes_out(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1, sender="grace@example.com")
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    action = f"/agent/tickets/{ticket.pk}/reply/"
    key = _form_key(page, action)

    refused = agent_client.post(action, {"text": "Done.", "channel": "sms", "once": key})
    assert refused.status_code == 400  # the customer has no phone number
    assert _form_key(refused.content.decode(), action) == key  # the same form, as typed
    sent = agent_client.post(action, {"text": "Done.", "channel": "email", "once": key})

    assert sent.status_code == 302
    assert Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).count() == 1


def test_a_note_sent_twice_from_one_page_is_written_once(agent_client, open_ticket):
    ticket = open_ticket(tier_level=1)
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    action = f"/agent/tickets/{ticket.pk}/note/"
    sent = {"text": "Checked the logs.", "once": _form_key(page, action)}

    agent_client.post(action, sent)
    again = agent_client.post(action, sent)

    assert again["Location"].endswith("#sent-note")
    assert Message.objects.filter(ticket=ticket, kind=MessageKind.NOTE).count() == 1


def _tags_shown(html: str) -> str:
    form = html.split('name="field" value="tags"', 1)[1].split("</form>", 1)[0]
    found = re.search(r'name="shown" value="([^"]*)"', form)
    assert found, "the tags form does not say which tags it showed"
    return found.group(1)


def test_tags_edited_on_a_page_keep_those_a_colleague_set_since(
    agent_client, agent, tier2_agent, open_ticket
):
    ticket = open_ticket(tier_level=1)
    services.ticket_set_tags(ticket=ticket, names=["vpn", "wifi"], actor=agent)
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    services.ticket_add_tags(ticket=ticket, names=["billing"], actor=tier2_agent)  # meanwhile
    action = f"/agent/tickets/{ticket.pk}/change/"

    # The agent removes "wifi" and adds "urgent" to what their page showed.
    agent_client.post(action, {"field": "tags", "value": "vpn, urgent", "shown": _tags_shown(page)})

    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "urgent", "vpn"]


def test_what_a_merged_ticket_is_about_is_not_changed_from_a_stale_page(agent_client, merged):
    from tickets.models import Product

    first, _second = merged
    product = Product.objects.create(name="Ledger")

    response = agent_client.post(
        f"/agent/tickets/{first.pk}/about/", {"about": f"product:{product.pk}"}, follow=True
    )

    assert "was merged into another ticket" in response.content.decode()
    first.refresh_from_db()
    assert first.product_id is None


def test_a_side_conversation_started_twice_from_one_page_emails_the_third_party_once(
    agent_client, open_ticket
):
    from tickets.models import SideConversation, SideMessage

    ticket = open_ticket(tier_level=1, sender="grace@example.com")
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    action = f"/agent/tickets/{ticket.pk}/side/"
    sent = {
        "to": "vendor@example.net",
        "subject": "VPN concentrator",
        "text": "Do you see drops on your side?",
        "once": _form_key(page, action),
    }

    first = agent_client.post(action, sent)
    again = agent_client.post(action, sent)

    assert first.status_code == again.status_code == 302
    assert SideConversation.objects.filter(ticket=ticket).count() == 1
    conversation = SideConversation.objects.get(ticket=ticket)
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    reply = f"/agent/tickets/{ticket.pk}/side/{conversation.pk}/reply/"
    answer = {"text": "Any news?", "once": _form_key(page, reply)}
    agent_client.post(reply, answer)
    agent_client.post(reply, answer)
    assert SideMessage.objects.filter(conversation=conversation).count() == 2


def test_a_canned_response_switched_off_since_the_page_was_loaded_sends_nothing(
    agent_client, open_ticket
):
    from tickets.models import Macro

    ticket = open_ticket(tier_level=1, sender="grace@example.com")
    macro = Macro.objects.create(
        name="Solved", body="Glad it works now.", set_status="resolved", is_active=True
    )
    page = agent_client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    Macro.objects.filter(pk=macro.pk).update(is_active=False)  # by a lead, meanwhile
    action = f"/agent/tickets/{ticket.pk}/reply/"

    response = agent_client.post(
        action,
        {"text": "Glad it works now.", "channel": "email", "macro": str(macro.pk),
         "once": _form_key(page, action)},
    )  # fmt: skip

    assert response.status_code == 400
    assert "is not in use any more" in response.content.decode()
    assert "Glad it works now." in response.content.decode()  # the text, as typed
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.OUTBOUND).exists()
