"""Live chat in two real browsers: the customer's chat page and the agent's console talk
live, survive a dropped connection without losing or doubling a message, and the whole
conversation is a ticket. With nobody online, the customer's message still arrives."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.agents import sign_in
from tests.e2e.axe import violations
from tests.factories import AgentFactory
from tickets.models import Channel, ChatSession, Message, MessageKind, Ticket


class CutOff:
    """The customer's chat socket, passed through so the test can cut it like a network
    drop (both ends see the connection close) and keep new ones failing until restored."""

    def __init__(self, page: Page) -> None:
        self.down, self.open = False, []
        page.route_web_socket(re.compile(r".*/ws/chat/.*"), self._route)

    def _route(self, socket: WebSocketRoute) -> None:
        if self.down:
            socket.close()
            return
        socket.connect_to_server()
        self.open.append(socket)

    def cut(self) -> None:
        self.down = True
        for socket in self.open:
            socket.close()
        self.open.clear()

    def restore(self) -> None:
        self.down = False


def customer_log(page: Page) -> Any:
    return page.locator("#chat-log")


def test_customer_and_agent_chat_live_through_a_dropped_connection(
    new_page: Callable[[], Page], screenshot: Callable[..., Path]
) -> None:
    AgentFactory(username="alice", first_name="Alice", last_name="Frontline")
    agent = new_page()
    sign_in(agent, "alice")
    agent.goto("/agent/chats/")
    expect(agent.locator("body")).to_have_attribute("data-live-state", "open")

    customer = new_page()
    network = CutOff(customer)
    customer.goto("/support/chat/")
    expect(customer.locator("body")).to_have_attribute("data-chat-online", "yes")
    customer.get_by_label("Your name").fill("Grace Hopper")
    customer.get_by_label("Your email").fill("grace@example.com")
    customer.get_by_label("How can we help?").fill("My VPN drops every few minutes")
    customer.get_by_role("button", name="Start chat").click()
    expect(customer.locator("body")).to_have_attribute("data-chat-view", "conversation")

    # The waiting chat appears in the agent's queue live; the agent takes it.
    waiting = agent.locator("#chat-lists li", has_text="Grace Hopper")
    waiting.get_by_role("button", name="Accept").click()
    expect(agent.get_by_role("heading", name="Chat with Grace Hopper")).to_be_visible()
    expect(agent.locator("#chat-log")).to_contain_text("My VPN drops every few minutes")
    expect(customer.locator("#chat-title")).to_contain_text("Alice")

    # Typing shows on the other side, then messages both ways.
    expect(agent.locator("body")).to_have_attribute("data-live-state", "open")
    agent.locator("#chat-text").press_sequentially("Hi Grace", delay=20)
    expect(customer.locator("#chat-typing")).not_to_be_empty()
    agent.locator("#chat-text").press("Enter")
    expect(customer_log(customer)).to_contain_text("Hi Grace")
    customer.locator("#chat-text").fill("It started after the update")
    customer.locator("#chat-text").press("Enter")
    expect(agent.locator("#chat-log")).to_contain_text("It started after the update")
    screenshot("agent-console", agent)

    # The customer's network drops; what they write meanwhile arrives once afterwards.
    network.cut()
    expect(customer.locator("body")).not_to_have_attribute("data-chat-state", "open")
    customer.locator("#chat-text").fill("Written while offline")
    customer.locator("#chat-text").press("Enter")
    network.restore()
    expect(agent.locator("#chat-log")).to_contain_text("Written while offline", timeout=15_000)
    expect(customer.locator("body")).to_have_attribute("data-chat-state", "open")
    expect(customer_log(customer).get_by_text("Written while offline")).to_have_count(1)
    expect(agent.locator("#chat-log").get_by_text("Written while offline")).to_have_count(1)
    expect(agent.locator("#chat-log")).not_to_contain_text("sending…")
    screenshot("customer-chat", customer)
    # Both sides of a conversation with messages in it: no serious accessibility violation.
    assert not violations(customer) + violations(agent)

    # The customer ends it, rates it; the ticket holds the whole conversation.
    customer.get_by_role("button", name="End chat").click()
    expect(customer.get_by_role("heading", name="The chat has ended")).to_be_visible()
    expect(agent.locator("#chat-state")).to_have_text("ended")
    customer.get_by_label("5: Very good").check()
    customer.get_by_role("button", name="Send rating").click()
    expect(customer.get_by_text("Thank you for your feedback.")).to_be_visible()

    ticket = Ticket.objects.get(channel=Channel.CHAT)
    texts = list(
        ticket.messages.exclude(kind=MessageKind.NOTE)
        .order_by("id")
        .values_list("body_text", flat=True)
    )
    assert texts == [
        "My VPN drops every few minutes",
        "Hi Grace",
        "It started after the update",
        "Written while offline",
    ]
    assert ticket.first_responded_at is not None  # the SLA's first response was the chat reply
    assert ChatSession.objects.get().rating == 5


def leave_a_message(page: Page) -> None:
    page.goto("/support/chat/")
    expect(page.locator("body")).to_have_attribute("data-chat-online", "no")
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Your email").fill("grace@example.com")
    page.get_by_label(re.compile("How can we help|Your message")).fill("Please call me back")
    page.locator("#chat-start-submit").click()


def test_with_nobody_online_the_message_becomes_a_ticket_answered_by_email(
    page: Page, screenshot: Callable[..., Path], celery_eager: Any
) -> None:
    leave_a_message(page)
    expect(page.get_by_role("heading", name="Thank you, we received your message")).to_be_visible()
    reference = page.locator("#chat-left-reference").inner_text()
    screenshot("left-a-message")
    ticket = Ticket.objects.get()
    assert ticket.reference == reference
    assert Message.objects.get(ticket=ticket).body_text == "Please call me back"


class LoseFirstConfirmation:
    """The chat socket passed through, except that the first `left_message` answer is lost
    with the connection: the message reached the help desk, the page never heard so."""

    def __init__(self, page: Page) -> None:
        self.lost = False
        page.route_web_socket(re.compile(r".*/ws/chat/.*"), self._route)

    def _route(self, socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if not self.lost and '"left_message"' in str(message):
                self.lost = True
                socket.close()
                server.close()
                return
            socket.send(message)

        server.on_message(from_server)


def test_a_message_sent_again_after_its_confirmation_was_lost_is_one_ticket(
    page: Page, celery_eager: Any
) -> None:
    lossy = LoseFirstConfirmation(page)
    leave_a_message(page)
    expect(page.get_by_text("The connection dropped before we could confirm")).to_be_visible()
    assert lossy.lost

    page.locator("#chat-start-submit").click()  # as the page asks: send it again

    expect(page.get_by_role("heading", name="Thank you, we received your message")).to_be_visible()
    ticket = Ticket.objects.get()
    assert page.locator("#chat-left-reference").inner_text() == ticket.reference
    assert Message.objects.get(ticket=ticket, kind=MessageKind.INBOUND).body_text == (
        "Please call me back"
    )
