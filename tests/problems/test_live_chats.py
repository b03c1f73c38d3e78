"""Solving a problem answers its linked tickets, but a live chat is written in only by the
agent holding it (or an admin): the same rule as the ticket page, the API and the console.
A chat a colleague holds, or one still waiting for an agent, is left to them: the ticket
stays open and says why, and the problem's page counts it among those not answered."""

from typing import Any

import pytest

from tests.factories import AgentFactory
from tickets.models import Channel, ChatSession, EventKind, MessageKind, TicketStatus
from tickets.problems import services as problems
from tickets.services import chat as chats

pytestmark = pytest.mark.django_db


@pytest.fixture
def solve_page(client: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Solve from the problem's page, as an agent does; the answering task runs."""

    def solve(problem: Any, solver: Any, answer: str) -> str:
        client.force_login(solver)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"/agent/problems/{problem.pk}/solve/", {"answer": answer})
        return client.get(f"/agent/problems/{problem.pk}/").content.decode()

    return solve


def _chat(email: str, client_id: str) -> ChatSession:
    return chats.chat_start(name="Grace Hopper", email=email, text="VPN drops", client_id=client_id)


def _chat_answers(chat: ChatSession) -> list[str]:
    return list(
        chat.ticket.messages.filter(
            kind=MessageKind.OUTBOUND, channel=Channel.CHAT, is_automatic=False
        ).values_list("body_text", flat=True)
    )


def test_solving_leaves_a_chat_a_colleague_holds_or_nobody_accepted_to_them(
    agent: Any, open_ticket: Any, solve_page: Any
) -> None:
    held = _chat("grace@example.com", "c1")
    chats.chat_accept(chat_id=held.pk, agent=agent)  # Alice is talking with Grace
    waiting = _chat("ada@example.com", "c2")  # Ada waits in the queue
    by_email = open_ticket()
    bob = AgentFactory(username="bob", first_name="Bob")
    problem = problems.problem_create(
        title="VPN outage", actor=bob, tickets=[held.ticket, waiting.ticket, by_email]
    )

    page = solve_page(problem, bob, "The VPN is fixed.")

    assert _chat_answers(held) == [], "Bob's answer did not land in Alice's chat"
    assert _chat_answers(waiting) == []
    for chat in (held, waiting):
        chat.ticket.refresh_from_db()
        assert chat.ticket.status != TicketStatus.RESOLVED
        assert not chat.ticket.messages.filter(kind=MessageKind.OUTBOUND, is_automatic=False)
    why = held.ticket.events.get(kind=EventKind.PROBLEM_SOLVED).data["unanswered"]
    assert "Only the agent holding this chat" in why
    why = waiting.ticket.events.get(kind=EventKind.PROBLEM_SOLVED).data["unanswered"]
    assert "waiting for an agent" in why
    by_email.refresh_from_db()
    assert by_email.status == TicketStatus.RESOLVED
    assert "1 ticket answered and resolved. 2 could not be answered" in page


def test_the_agent_holding_the_chat_solves_and_the_answer_goes_into_it(
    agent: Any, solve_page: Any
) -> None:
    chat = _chat("grace@example.com", "c1")
    chats.chat_accept(chat_id=chat.pk, agent=agent)
    problem = problems.problem_create(title="VPN outage", actor=agent, tickets=[chat.ticket])

    solve_page(problem, agent, "The VPN is fixed.")

    assert [a.split("\n")[0] for a in _chat_answers(chat)] == ["The VPN is fixed."]
    chat.ticket.refresh_from_db()
    assert chat.ticket.status == TicketStatus.RESOLVED
