"""The doors a person asks the knowledge base through, each used as that person would and
read for what they are shown: the articles, in order.

help_center  GET /kb/search/?q=            the help-center search page (links listed)
api          GET /api/v1/kb/search?q=      the public search API (results)
form         GET /support/suggest/         the contact form's live suggestions
email        anymail's Postmark webhook    tier 0's automatic reply to a new request
sms          Twilio's signed SMS webhook   tier 0's text message
chat         the chat WebSocket            the answers sent while the customer waits
agent        GET /agent/tickets/<id>/kb/        the agent's suggestions on the ticket page
"""

import base64
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.test import Client

from tests.channels_ingest.sms import twilio_helpers as twilio
from tickets.models import Message, MessageKind, Ticket

_ARTICLE_LINK = re.compile(r"/kb/[\w-]+/([\w-]+)/")
POSTMARK_SECRET = "hooks:kb-eval"


def _slugs(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for slug in _ARTICLE_LINK.findall(text):
        seen.setdefault(slug, None)
    return list(seen)


def _subject(query: str) -> str:
    """What a customer puts in a subject line: the query's start on one line, cut at a
    word."""
    line = " ".join(query.split())
    if len(line) <= 78:
        return line
    return line[:78].rsplit(" ", 1)[0]


class Doors:
    """Each door: query text in, the article slugs the person is shown (best first) out."""

    def __init__(self, client: Client, agent_client: Client, run_on_commit: Callable) -> None:
        self.client = client
        self.agent_client = agent_client
        self.run_on_commit = run_on_commit  # runs a request with its on-commit work done
        self._last_ticket: dict[str, Ticket] = {}

    def help_center(self, query: str) -> list[str]:
        page = self.client.get("/kb/search/", {"q": query})
        assert page.status_code == 200
        results = page.content.decode().split('id="results"', 1)[-1]
        return _slugs(results)

    def api(self, query: str) -> list[str]:
        response = self._api_search(query)
        assert response.status_code == 200, response.content
        return [result["slug"] for result in response.json()["results"]]

    def api_confidences(self, query: str) -> list[float]:
        response = self._api_search(query)
        return [result["confidence"] for result in response.json()["results"]]

    def _api_search(self, query: str) -> Any:
        # One client address per question (many customers, each asking once), as for the
        # form: the API's per-address rate limit is not what this measures.
        address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.2"
        return self.client.get("/api/v1/kb/search", {"q": query[:200]}, REMOTE_ADDR=address)

    def form(self, query: str) -> list[str]:
        address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"
        response = self.client.get(
            "/support/suggest/", {"subject": "", "description": query}, REMOTE_ADDR=address
        )
        assert response.status_code == 200
        return _slugs(response.content.decode())

    def email(self, query: str) -> list[str]:
        sender = f"eval-{uuid.uuid4().hex[:10]}@example.com"
        payload = {
            "FromFull": {"Email": sender, "Name": "Eval Customer", "MailboxHash": ""},
            "ToFull": [{"Email": "support@localhost", "Name": "", "MailboxHash": ""}],
            "CcFull": [],
            "Subject": _subject(query),
            "Date": "Sat, 21 Nov 2026 09:30:00 +0000",
            "TextBody": query,
            "HtmlBody": "",
            "Headers": [{"Name": "Message-ID", "Value": f"<{uuid.uuid4().hex}@example.com>"}],
            "Attachments": [],
        }
        auth = base64.b64encode(POSTMARK_SECRET.encode()).decode()
        response = self.run_on_commit(
            lambda: self.client.post(
                "/anymail/postmark/inbound/",
                data=json.dumps(payload),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Basic {auth}",
            )
        )
        assert response.status_code == 200
        ticket = Ticket.objects.filter(messages__sender=sender).latest("pk")
        self._last_ticket["email"] = ticket
        return self._offered(ticket)

    def sms(self, query: str) -> list[str]:
        sender = f"+1415{uuid.uuid4().int % 10**7:07d}"
        params = twilio.sms_params(f"SM{uuid.uuid4().hex}", sender, query)
        response = self.run_on_commit(lambda: twilio.post(self.client, twilio.SMS_URL, params))
        assert response.status_code == 200, response.content
        ticket = Ticket.objects.filter(messages__sender=sender).latest("pk")
        return self._offered(ticket)

    def agent(self, query: str) -> list[str]:
        """The agent opens the ticket the customer's email made (email() ran first)."""
        ticket = self._last_ticket.pop("email", None)
        if ticket is None:
            self.email(query)
            ticket = self._last_ticket.pop("email")
        response = self.agent_client.get(f"/agent/tickets/{ticket.pk}/kb/")
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        return _slugs(response.content.decode())

    @staticmethod
    def _offered(ticket: Ticket) -> list[str]:
        replies = Message.objects.filter(
            ticket=ticket, kind=MessageKind.OUTBOUND, is_automatic=True
        ).order_by("pk")
        offers = [m.body_text for m in replies if "/support/solved/" in m.body_text]
        return _slugs(offers[0]) if offers else []


def chat_offered(messages: list[dict[str, Any]]) -> list[str]:
    """The articles in the chat's automatic "while you wait" message."""
    for message in messages:
        if "/kb/" in message.get("text", ""):
            return _slugs(message["text"])
    return []
