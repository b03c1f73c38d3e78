"""Outgoing webhooks: what a delivery says (the versioned payload, or a Slack or Teams line),
how it is signed, which addresses it may go to, and writing deliveries in the caller's
transaction (sent after commit, by tickets.automation.sending).

A receiver verifies a helpdesk-format delivery with the webhook's secret:
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, sha256).hexdigest()
    hmac.compare_digest(f"sha256={expected}", request.headers["X-Helpdesk-Signature"])
where timestamp is the X-Helpdesk-Timestamp header; X-Helpdesk-Delivery tells a retry (same
id) from a new delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import socket
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import placeholders
from tickets.automation import active
from tickets.automation.rules import EVENTS
from tickets.branding.mail import branded_email
from tickets.errors import Conflict, InvalidInput
from tickets.models import (
    ContactKind,
    ContactPoint,
    DeliveryState,
    EventKind,
    Message,
    Ticket,
    TicketEvent,
    Webhook,
    WebhookDelivery,
    WebhookFormat,
)
from tickets.roles import admin_ids
from tickets.services._common import Actor
from tickets.services.notices import Said, agent_languages, notify_agents

logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
USER_AGENT = "helpdesk-webhooks/1"
# Deliveries one sending task takes at most.
TASK_BATCH = 100
# A refused address's error code; an address that cannot be resolved is a different one (at
# sending time a DNS failure is retried, a private address is not).
PRIVATE_ADDRESS = "webhook_private_address"
UNRESOLVABLE = "webhook_unresolvable"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


# --- What is sent ------------------------------------------------------------------------


def payload(
    event_name: str, event: TicketEvent | None, ticket: Ticket, *, now: datetime | None = None
) -> dict[str, Any]:
    """The versioned JSON a helpdesk-format webhook receives for `event` (None: a rule's
    action without one, e.g. an automation) on `ticket`. A fixed number of queries."""
    ticket = _ticket_for_payload(ticket.pk)
    occurred_at = event.created_at if event is not None else (now or timezone.now())
    body: dict[str, Any] = {
        "version": PAYLOAD_VERSION,
        "event_id": event.pk if event is not None else None,
        "type": event_name,
        "occurred_at": occurred_at.isoformat(),
        "ticket": _ticket_part(ticket),
    }
    if event is None:
        return body
    body["event"] = {"kind": event.kind, "actor": _actor_name(event), "data": event.data}
    message_id = event.data.get("message")
    if message_id:
        message = Message.objects.filter(pk=message_id, ticket_id=ticket.pk).first()
        if message is not None:
            body["message"] = {
                "id": message.pk,
                "kind": message.kind,
                "channel": message.channel,
                "text": message.body_text,
                "created_at": message.created_at.isoformat(),
            }
    if event.kind == EventKind.RATED:
        body["rating"] = {
            "score": event.data.get("rating"),
            "comment": event.data.get("comment", ""),
        }
    return body


def _ticket_for_payload(ticket_id: int) -> Ticket:
    emails = ContactPoint.objects.filter(kind=ContactKind.EMAIL).order_by("created_at", "id")
    return (
        Ticket.objects.select_related("customer__organization", "tier", "assignee")
        .prefetch_related(
            "tags", Prefetch("customer__contact_points", queryset=emails, to_attr="emails")
        )
        .get(pk=ticket_id)
    )


def _ticket_part(ticket: Ticket) -> dict[str, Any]:
    customer, assignee = ticket.customer, ticket.assignee
    organization = customer.organization
    emails: list[ContactPoint] = getattr(customer, "emails", [])
    path = reverse("agent:ticket", args=[ticket.pk])
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "tier": ticket.tier.level,
        "channel": ticket.channel,
        "assignee": (
            {"id": assignee.pk, "name": assignee.get_full_name() or assignee.get_username()}
            if assignee is not None
            else None
        ),
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "email": emails[0].value if emails else None,
        },
        "organization": (
            {"id": organization.pk, "name": organization.name} if organization else None
        ),
        "tags": sorted(tag.name for tag in ticket.tags.all()),
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "url": f"{settings.PUBLIC_BASE_URL}{path}",
    }


def _actor_name(event: TicketEvent) -> str:
    if event.actor_id is None:
        return event.actor_label
    actor = event.actor
    if actor is None:
        return event.actor_label
    return actor.get_full_name() or actor.get_username()


def chat_text(event_name: str, ticket: Ticket, *, teams: bool = False) -> str:
    """The line a Slack or Teams webhook shows for an event (the subject as Teams shows it
    literally, for `teams`)."""
    return "".join(
        teams_literal(text) if teams and customers else text
        for text, customers in _event_pieces(event_name, ticket)
    )


def _event_pieces(event_name: str, ticket: Ticket) -> list[tuple[str, bool]]:
    """The event's line as (text, whether a customer wrote it)."""
    label = EVENTS.get(event_name, event_name)
    return [(f"{ticket.reference} ", False), (ticket.subject, True), (f": {label}", False)]


# What Markdown reads as formatting, a link or a heading (CommonMark's backslash escapes).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def teams_literal(text: str) -> str:
    """`text` (a customer's) as Teams shows it, literally: a connector card's text is
    Markdown and limited HTML, so HTML's characters become entities and Markdown's are
    escaped with a backslash (a link, bold, a heading from a customer render as typed)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


# The placeholders the desk's own words fill; the others (the subject, the customer's name)
# are what a customer wrote.
_OURS = frozenset({"ticket.reference"})


def _chat_pieces(event_name: str, ticket: Ticket, text: str) -> list[tuple[str, bool]]:
    """A rule's own `text` with its placeholders filled, else the event's line, as (text,
    whether a customer wrote it): the rule's words are an admin's, the subject and the
    customer's name a customer's."""
    if not text.strip():
        return _event_pieces(event_name, ticket)
    values = placeholders.ticket_values(ticket)
    return [
        (piece, name is not None and name not in _OURS)
        for piece, name in placeholders.pieces(text, values)
    ]


def _chat_body(hook: Webhook, pieces: list[tuple[str, bool]]) -> str:
    """The body for Slack or Teams: what a customer wrote shown as typed, our words (and a
    rule's) keeping their formatting."""
    if hook.format == WebhookFormat.TEAMS:
        # Teams reads the text as Markdown and limited HTML: the customer's parts escaped.
        return _dumps({"text": "".join(teams_literal(t) if c else t for t, c in pieces)})
    return _dumps(slack_message(pieces))


def slack_message(pieces: list[tuple[str, bool]]) -> dict[str, Any]:
    """A Slack message of these pieces. Slack reads `text` as mrkdwn, which has no escape for
    `*`, `_`, `~` or a backtick, so the message is a rich text block: its text elements are
    shown as they are, never as formatting, a link or a mention; our words' own mrkdwn
    (`*bold*`, `_italic_`, `~strike~`, `` `code` ``) becomes their style. The plain `text`
    is Slack's fallback for notifications, its `&`, `<` and `>` escaped as Slack asks (a
    customer's `<!channel>` pings no one)."""
    elements: list[dict[str, Any]] = []
    for text, customers in pieces:
        elements.extend([_text_element(text)] if customers else _styled(text))
    fallback = "".join(text for text, _ in pieces)
    fallback = fallback.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if not elements:  # a block needs an element, an element some text
        elements = [_text_element(" ")]
    section = {"type": "rich_text_section", "elements": elements}
    return {"text": fallback, "blocks": [{"type": "rich_text", "elements": [section]}]}


# Our words' mrkdwn, as Slack writes it: a span within one line, marks on both sides.
_SLACK_STYLE = re.compile(r"\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~|`([^`\n]+)`")
_STYLES = ("bold", "italic", "strike", "code")


def _styled(text: str) -> list[dict[str, Any]]:
    """Our own words as rich text elements, their mrkdwn spans as styles."""
    elements, start = [], 0
    for match in _SLACK_STYLE.finditer(text):
        if match.start() > start:
            elements.append(_text_element(text[start : match.start()]))
        style = next(i for i, group in enumerate(match.groups()) if group is not None)
        elements.append(_text_element(match.group(style + 1), style=_STYLES[style]))
        start = match.end()
    if start < len(text):
        elements.append(_text_element(text[start:]))
    return elements


def _text_element(text: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "text", "text": text}
    if style:
        element["style"] = {style: True}
    return element


def _body(
    hook: Webhook, json_payload: str | None, event_name: str, ticket: Ticket, text: str
) -> str:
    if hook.format == WebhookFormat.HELPDESK:
        assert json_payload is not None
        return json_payload
    return _chat_body(hook, _chat_pieces(event_name, ticket, text))


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 (hex) of "<timestamp>." followed by the body, keyed with the secret."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def headers(
    delivery: WebhookDelivery, hook: Webhook, body: bytes, timestamp: int
) -> dict[str, str]:
    """The headers a delivery is sent with: signed for the helpdesk format only (Slack and
    Teams know nothing of our signature)."""
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if hook.format != WebhookFormat.HELPDESK:
        return sent
    return {
        **sent,
        "X-Helpdesk-Event": delivery.event_type,
        "X-Helpdesk-Delivery": str(delivery.pk),
        "X-Helpdesk-Timestamp": str(timestamp),
        "X-Helpdesk-Signature": f"sha256={sign(hook.secret, timestamp, body)}",
    }


# --- Where it may go ---------------------------------------------------------------------


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse (tickets.errors.InvalidInput) an address that is not http(s), or, unless
    `allow_private`, whose host resolves to any address that is not on the public internet
    (private, loopback, link-local, multicast, reserved, unspecified; also inside IPv6).
    Asked when a webhook is saved and again before each send (DNS answers change)."""
    longest = Webhook._meta.get_field("url").max_length or 0
    if len(url) > longest:
        raise InvalidInput(
            _("A webhook's address has at most %(longest)s characters.") % {"longest": longest},
            code="webhook_url",
        )
    not_an_address = InvalidInput(
        _("A webhook's address starts with http:// or https:// and names a host."),
        code="webhook_url",
    )
    # No spaces or control characters (NUL, line breaks): no request could carry them.
    if any(char.isspace() or not char.isprintable() for char in url):
        raise not_an_address
    try:
        parts = urlsplit(url)
        host = parts.hostname  # an unbalanced or invalid [IPv6] raises
    except ValueError:
        raise not_an_address from None
    if parts.scheme not in ("http", "https") or not host:
        raise not_an_address
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(_("The address's port is not a number."), code="webhook_url") from None
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise InvalidInput(
            _("%(host)s cannot be found (%(error)s).") % {"host": host, "error": error},
            code=UNRESOLVABLE,
        ) from None
    for *_ignored, sockaddr in found:
        address = str(sockaddr[0])
        if forbidden_address(address):
            raise InvalidInput(
                _(
                    "%(host)s is on a private network (%(address)s): webhooks go to "
                    "public addresses unless the webhook allows a private network."
                )
                % {"host": host, "address": address},
                code=PRIVATE_ADDRESS,
            )


def forbidden_address(address: str) -> bool:
    """Whether a webhook may not connect to this IP address (without allow_private_network)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _not_public(embedded)
    return _not_public(ip)


def _not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# --- Writing deliveries ------------------------------------------------------------------


def subscribed(
    event_name: str, event: TicketEvent, ticket: Ticket, hooks: list[Webhook]
) -> list[WebhookDelivery]:
    """One delivery of `event` to each webhook of `hooks` that is on and subscribes to it,
    in the caller's transaction (once per webhook and event: a re-run writes nothing new),
    sent after commit. Returns the deliveries of the event to those webhooks."""
    wanted = [
        hook
        for hook in hooks
        if hook.active and hook.disabled_at is None and event_name in hook.events
    ]
    if not wanted:
        return []
    json_payload = None
    if any(hook.format == WebhookFormat.HELPDESK for hook in wanted):
        json_payload = _dumps(payload(event_name, event, ticket))
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook=hook,
                event_type=event_name,
                source_event=event,
                body=_body(hook, json_payload, event_name, ticket, ""),
                ticket=ticket,
                next_attempt_at=now,
                created_at=now,
            )
            for hook in wanted
        ],
        ignore_conflicts=True,  # ids are not returned then: read back below
    )
    deliveries = list(
        WebhookDelivery.objects.filter(
            source_event=event, webhook__in=wanted, redelivery_of__isnull=True
        ).order_by("pk")
    )
    _schedule([d.pk for d in deliveries if d.state == DeliveryState.PENDING])
    return deliveries


def for_action(
    *,
    webhook_id: int,
    event_name: str,
    event: TicketEvent | None,
    ticket: Ticket,
    text: str = "",
) -> WebhookDelivery:
    """A delivery a rule's action asks for: the payload (helpdesk format) or `text` with its
    placeholders filled (Slack, Teams; the event's line when empty). Sent after commit."""
    hook = Webhook.objects.filter(pk=webhook_id).first()
    if hook is None:
        raise InvalidInput(
            _("There is no webhook %(webhook_id)s.") % {"webhook_id": webhook_id},
            code="no_such_webhook",
        )
    if not hook.active or hook.disabled_at is not None:
        raise InvalidInput(
            _("The webhook “%(name)s” is switched off.") % {"name": hook.name}, code="webhook_off"
        )
    json_payload = None
    if hook.format == WebhookFormat.HELPDESK:
        json_payload = _dumps(payload(event_name, event, ticket))
    now = timezone.now()
    # Not tied to the event (source_event): a subscription may send the same event too.
    delivery = WebhookDelivery.objects.create(
        webhook=hook,
        event_type=event_name,
        body=_body(hook, json_payload, event_name, ticket, text),
        ticket=ticket,
        next_attempt_at=now,
        created_at=now,
    )
    _schedule([delivery.pk])
    return delivery


def redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a delivered or failed delivery's body again, as a new delivery (a new id;
    signed afresh when sent), after commit."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery.pk)
    if delivery.state == DeliveryState.PENDING:
        raise Conflict(_("This delivery is still being sent."), code="delivery_pending")
    hook = delivery.webhook
    if not hook.active or hook.disabled_at is not None:
        raise InvalidInput(
            _("The webhook “%(name)s” is switched off: switch it on first.") % {"name": hook.name},
            code="webhook_off",
        )
    now = timezone.now()
    again = WebhookDelivery.objects.create(
        webhook=hook,
        event_type=delivery.event_type,
        source_event_id=delivery.source_event_id,
        body=delivery.body,
        ticket_id=delivery.ticket_id,
        redelivery_of=delivery,
        next_attempt_at=now,
        created_at=now,
    )
    logger.info("delivery %s sent again as %s by %s", delivery.pk, again.pk, _who(actor))
    _schedule([again.pk])
    return again


def _schedule(delivery_ids: list[int]) -> None:
    """Queue the sending task when the current transaction commits (if the broker is down,
    the deliveries stay pending and the sweep sends them)."""
    if delivery_ids:
        transaction.on_commit(partial(_enqueue, delivery_ids))


def _enqueue(delivery_ids: list[int]) -> None:
    # Imported here: the tasks module imports the rules, which import this one.
    from tickets.automation.tasks import deliver_webhooks

    for start in range(0, len(delivery_ids), TASK_BATCH):
        batch = delivery_ids[start : start + TASK_BATCH]
        try:
            deliver_webhooks.delay(batch)
        except Exception:
            logger.exception("could not queue %s webhook deliveries", len(batch))


# --- Switching off and on ----------------------------------------------------------------


def disable(*, webhook_id: int, reason: str, ticket_id: int | None, now: datetime) -> bool:
    """Switch a webhook off after failing too often (once: False if it was off already) and
    tell the admins, in the app on the ticket of the delivery that failed last. Inside the
    caller's transaction."""
    switched = Webhook.objects.filter(pk=webhook_id, disabled_at__isnull=True).update(
        disabled_at=now, disabled_reason=reason[:300]
    )
    if not switched:
        return False
    active.changed()  # subscriptions are kept per process
    name = Webhook.objects.values_list("name", flat=True).get(pk=webhook_id)
    # The reason is kept on the webhook: in the default language, as what is kept is.
    text = Said(
        gettext_noop("Webhook “%(name)s” was switched off: %(reason)s"),
        {"name": name, "reason": reason},
    )
    logger.warning("%s", text)
    admins = admin_ids()
    ticket = Ticket.objects.filter(pk=ticket_id).first() if ticket_id else None
    if ticket is not None:
        notify_agents(user_ids=admins, ticket=ticket, kind="webhook_disabled", text=text)
    else:
        # A notification belongs to a ticket; without one (it was deleted), by email, in
        # each admin's language.
        languages = agent_languages(admins)
        readers = User.objects.filter(pk__in=admins).exclude(email="")
        by_language: dict[str, list[str]] = {}
        for user_id, address in readers.values_list("pk", "email"):
            by_language.setdefault(languages[user_id], []).append(address)
        for language, addresses in by_language.items():
            words = text.said_in(language)[:500]
            transaction.on_commit(partial(_mail_admins, addresses, words))
    return True


def _mail_admins(addresses: list[str], text: str) -> None:
    if not addresses:
        return
    try:
        branded_email(subject=text[:150], text=text, to=addresses).send()
    except OSError:
        logger.exception("could not email the admins that a webhook was switched off")


def enable(*, webhook: Webhook, actor: Actor) -> Webhook:
    """Switch a webhook that failed too often back on, its count of failures cleared
    (the deliveries given up on meanwhile stay failed; they can be sent again)."""
    Webhook.objects.filter(pk=webhook.pk).update(
        disabled_at=None, disabled_reason="", consecutive_failures=0
    )
    webhook.refresh_from_db(fields=["disabled_at", "disabled_reason", "consecutive_failures"])
    active.changed()
    logger.info("webhook %s switched on again by %s", webhook.pk, _who(actor))
    return webhook


def _who(actor: Actor) -> str:
    return f"user {actor.pk}" if actor is not None else "the system"


def off_reason(hook: Webhook) -> str | None:
    """Why a webhook's deliveries are not sent, or None when it is on."""
    if hook.disabled_at is not None:
        return f"The webhook was switched off: {hook.disabled_reason}"[:500]
    if not hook.active:
        return "The webhook is switched off."
    return None
