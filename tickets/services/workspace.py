"""Agents' shortcuts: tags on a ticket, and canned responses (macros) applied in one go."""

import re
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from tickets import placeholders, policy
from tickets.errors import InvalidInput
from tickets.inbound import InboundAttachment
from tickets.models import EventKind, Macro, Message, Tag, Ticket
from tickets.services._common import Actor, lock_ticket, record_event, refuse_if_merged
from tickets.services.escalation import ticket_move_tier
from tickets.services.messages import sent_from_form, ticket_change_priority, ticket_reply

MAX_TAGS = 20
_TAG = re.compile(r"^[\w][\w .:/+-]{0,49}$")


def parse_tags(text: str) -> list[str]:
    """'Billing, vpn ,VPN' -> ['billing', 'vpn']; refuses odd characters with a clear error."""
    names = list(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    bad = [name for name in names if not _TAG.match(name)]
    if bad:
        raise InvalidInput(
            _("Tags are words of up to 50 letters, digits, spaces or - _ . : / +; not %(bad)r.")
            % {"bad": bad[0]},
            code="invalid_tag",
        )
    if len(names) > MAX_TAGS:
        raise InvalidInput(
            _("A ticket can have at most %(most)s tags.") % {"most": MAX_TAGS},
            code="too_many_tags",
        )
    return names


def ticket_set_tags(
    *, ticket: Ticket, names: list[str], actor: Actor, shown: list[str] | None = None
) -> Ticket:
    """Give the ticket these tags. `shown`: the tags a page showed when the agent edited
    them there; only their edit (the tags they added and removed) is made, so tags a
    colleague set since the page was loaded stay."""
    policy.refuse_unless_works_tickets(actor, _("change tags"))
    with transaction.atomic():
        ticket = lock_ticket(ticket)
        # A page loaded before a merge: its tags went to the ticket it was merged into.
        refuse_if_merged(ticket)
        policy.refuse_if_closed(ticket)
        before = sorted(ticket.tags.values_list("name", flat=True))
        wanted = set(names)
        if shown is not None:
            removed = set(shown) - wanted
            wanted = (set(before) - removed) | (wanted - set(shown))
        after = sorted(wanted)
        if before == after:
            return ticket
        tags = list(Tag.objects.filter(name__in=after))
        missing = [Tag(name=name) for name in set(after) - {tag.name for tag in tags}]
        if missing:  # made now, or by a colleague at the same moment: read back with ids
            Tag.objects.bulk_create(missing, ignore_conflicts=True)
            tags = list(Tag.objects.filter(name__in=after))
        ticket.tags.set(tags)
        change: dict[str, Any] = {"from": before, "to": after}
        record_event(ticket, EventKind.TAGS_CHANGED, actor=actor, **change)
    return ticket


def ticket_add_tags(*, ticket: Ticket, names: list[str], actor: Actor) -> Ticket:
    current = list(ticket.tags.values_list("name", flat=True))
    return ticket_set_tags(ticket=ticket, names=[*current, *names], actor=actor)


def macro_render(macro: Macro, *, ticket: Ticket, agent: User) -> str:
    """The macro's text with its placeholders filled; unknown placeholders stay visible."""
    return placeholders.fill(
        macro.body, {**placeholders.ticket_values(ticket), **placeholders.agent_values(agent)}
    )


def ticket_apply_macro(
    *,
    ticket: Ticket,
    macro: Macro,
    actor: User,
    text: str = "",
    channel: str | None = None,
    attachments: tuple[InboundAttachment, ...] = (),
    form_key: str = "",
) -> Message:
    """Send the macro's reply (as edited by the agent) and make the changes it carries
    (once for a form sent twice: `form_key`, as ticket_reply takes it)."""
    policy.refuse_unless_works_tickets(actor, _("apply canned responses"))
    if (sent := sent_from_form(actor, form_key)) is not None:
        return sent
    text = text.strip() or macro_render(macro, ticket=ticket, agent=actor)
    with transaction.atomic():
        message = ticket_reply(
            ticket=ticket,
            actor=actor,
            text=text,
            channel=channel,
            status=macro.set_status or None,
            attachments=attachments,
            form_key=form_key,
        )
        record_event(ticket, EventKind.MACRO_APPLIED, actor=actor, macro=macro.name)
        if macro.set_priority:
            ticket_change_priority(ticket=ticket, priority=macro.set_priority, actor=actor)
        if macro.set_tier is not None and macro.set_tier.level != ticket.tier.level:
            ticket_move_tier(
                ticket=ticket,
                tier_level=macro.set_tier.level,
                reason=f"Canned response “{macro.name}”",
                handoff_note=text,
                actor=actor,
            )
    return message
