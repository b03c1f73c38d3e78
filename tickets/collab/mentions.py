"""@mentions in internal notes: who a note names, and telling them.

A mention is `@username` (the note box's autocomplete writes that for a name typed after
@). Only active staff can be mentioned; anything else after an @ (an email address, a
stranger's name) is plain text. Being mentioned grants nothing: the colleague opens the
ticket with the rights tickets.policy gives them (staff read every ticket).
"""

import re
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils.translation import gettext_lazy, gettext_noop

from tickets.collab.following import add_followers
from tickets.models import Message, Ticket
from tickets.roles import ADMINS_GROUP, AGENTS_GROUP, LEADS_GROUP
from tickets.services.notices import Said, notify_agents

# An @ not inside a word or an address ("ann@example.com" mentions nobody).
_MENTION = re.compile(r"(?<![\w.+-])@([\w][\w.+-]{0,149})")
# Mentions read from one note at most (a pasted list of a thousand @s names no one more).
MAX_MENTIONS = 20


def mentioned_names(text: str) -> list[str]:
    """The candidate usernames after each @, in order, once each (lower case); a trailing
    full stop or dash belongs to the sentence, not the name."""
    names: list[str] = []
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(".-+").lower()
        if name and name not in names:
            names.append(name)
    return names[:MAX_MENTIONS]


def staff() -> Any:
    """Active staff: whom a note may mention (and the note box offers)."""
    return User.objects.filter(is_active=True).filter(
        Q(is_superuser=True)
        | Q(is_staff=True, agent_profile__isnull=False)
        | Q(is_staff=True, groups__name__in=(AGENTS_GROUP, LEADS_GROUP, ADMINS_GROUP))
    )


def resolve(text: str) -> list[User]:
    """The staff a note mentions, in the order it names them (one query; none without @)."""
    names = mentioned_names(text)
    if not names:
        return []
    named = Q()
    for name in names:
        named |= Q(username__iexact=name)
    found = {user.username.lower(): user for user in staff().filter(named).distinct()}
    return [found[name] for name in names if name in found]


def display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def mention_data(users: list[User]) -> list[dict[str, Any]]:
    """What the note's event keeps of its mentions (the page highlights these names)."""
    return [{"id": u.pk, "username": u.username, "name": display_name(u)} for u in users]


def tell_mentioned(*, ticket: Ticket, note: Message, users: list[User], actor: User | None) -> None:
    """In the note's transaction: each colleague it mentions (not its author) is told, in
    the app and by email if they asked for it, and follows the ticket from now on."""
    told = [user for user in users if actor is None or user.pk != actor.pk]
    if not told:
        return
    author = display_name(actor) if actor is not None else gettext_lazy("The help desk")
    snippet = " ".join(note.body_text.split())
    snippet = snippet if len(snippet) <= 200 else f"{snippet[:199]}…"
    notify_agents(
        user_ids=[user.pk for user in told],
        ticket=ticket,
        kind="mention",
        text=Said(
            gettext_noop("%(author)s mentioned you on %(reference)s: %(snippet)s"),
            {"author": author, "reference": ticket.reference, "snippet": snippet},
        ),
    )
    add_followers(ticket, [user.pk for user in told])
