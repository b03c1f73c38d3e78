"""Small readers of API answers, shared by the API tests."""

from typing import Any

from tickets.models import (
    AgentProfile,
    Attachment,
    ContactPoint,
    Customer,
    KnownIssue,
    Message,
    Problem,
    ProblemEvent,
    Ticket,
    TicketEvent,
)


def error_of(response: Any) -> dict[str, Any]:
    """The body of an error answer, checking it has the one documented shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def ids_of(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def db_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row the API can write, to show that a refused request wrote nothing."""
    models = (
        Ticket, Message, TicketEvent, Attachment, Customer, ContactPoint, AgentProfile,
        Problem, ProblemEvent, KnownIssue,
    )  # fmt: skip
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in models}
