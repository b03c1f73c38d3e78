"""How our emails point back at their ticket: Message-IDs, reply-to tokens, subject tags.

Pure functions; the ingestion service uses them to thread replies, the outbound sender to
write the headers.
"""

import hashlib
import hmac
import re
import secrets

from django.conf import settings


def support_address() -> str:
    """The mailbox customers write to: the brand's support address when an admin set one
    (tickets.branding, kept per process), otherwise HELPDESK_SUPPORT_ADDRESS."""
    from tickets.branding import current

    return current().support_address or settings.HELPDESK_SUPPORT_ADDRESS


def _own_addresses() -> set[str]:
    """Both mailboxes count as ours (the configured one keeps receiving, and answers to
    mail sent before the brand's address was set still thread)."""
    return {support_address().lower(), settings.HELPDESK_SUPPORT_ADDRESS.lower()}


def _domain() -> str:
    return support_address().rsplit("@", 1)[-1].lower()


def _own_domains() -> set[str]:
    return {address.rsplit("@", 1)[-1] for address in _own_addresses()}


# A +token in the support address names what a reply is about: t (a ticket, "reply-to") or s
# (a side conversation, "side"), with a MAC so that it cannot be guessed.
_PURPOSES = {"t": "reply-to", "s": "side"}


def _mac(letter: str, object_id: int) -> str:
    key, purpose = settings.SECRET_KEY.encode(), _PURPOSES[letter]
    return hmac.new(key, f"{purpose}:{object_id}".encode(), hashlib.sha256).hexdigest()[:16]


def _tagged_address(letter: str, object_id: int) -> str:
    local, _, domain = support_address().partition("@")
    return f"{local}+{letter}{object_id}-{_mac(letter, object_id)}@{domain}"


def _id_from_addresses(letter: str, addresses: tuple[str, ...] | list[str]) -> int | None:
    token = re.compile(rf"\+{letter}(\d+)-([0-9a-f]{{16}})@", re.IGNORECASE)
    for address in addresses:
        match = token.search(address)
        if match and hmac.compare_digest(match.group(2).lower(), _mac(letter, int(match.group(1)))):
            return int(match.group(1))
    return None


def reply_address(ticket_id: int) -> str:
    """support+t42-<mac>@domain: a reply to it finds ticket 42, and the token cannot be guessed."""
    return _tagged_address("t", ticket_id)


def ticket_id_from_addresses(addresses: tuple[str, ...] | list[str]) -> int | None:
    return _id_from_addresses("t", addresses)


def is_own_address(address: str) -> bool:
    """The help desk's own mailbox, with or without a +token."""
    candidate = address.lower()
    for own in _own_addresses():
        local, _, domain = own.partition("@")
        if candidate == own or (
            candidate.startswith(f"{local}+") and candidate.endswith(f"@{domain}")
        ):
            return True
    return False


def new_message_id(ticket_id: int) -> str:
    """A Message-ID for an email we send, naming its ticket."""
    return f"<hd-{ticket_id}.{secrets.token_hex(8)}@{_domain()}>"


_OUR_MESSAGE_ID = re.compile(r"^<?hd-(\d+)\.[0-9a-f]+@([^>]+)>?$", re.IGNORECASE)


def ticket_id_from_message_id(message_id: str) -> int | None:
    match = _OUR_MESSAGE_ID.match(message_id.strip())
    if match and match.group(2).lower() in _own_domains():
        return int(match.group(1))
    return None


def subject_with_reference(subject: str, reference: str) -> str:
    tag = f"[{reference}]"
    return subject if tag in subject else f"{subject} {tag}".strip()


def ticket_id_from_subject(subject: str) -> int | None:
    prefix = re.escape(settings.HELPDESK_TICKET_PREFIX)
    match = re.search(rf"\[{prefix}-(\d+)\]", subject, re.IGNORECASE)
    return int(match.group(1)) if match else None


# Side conversations (tickets.collab.side): email with a third party about a ticket. Their
# ids, reply addresses and subject tags differ from a ticket's, so that a third party's
# reply can never be taken for the customer's.


def side_reply_address(conversation_id: int) -> str:
    """support+s7-<mac>@domain: a reply to it finds side conversation 7."""
    return _tagged_address("s", conversation_id)


def side_id_from_addresses(addresses: tuple[str, ...] | list[str]) -> int | None:
    return _id_from_addresses("s", addresses)


def new_side_message_id(conversation_id: int) -> str:
    """A Message-ID for an email of a side conversation (never a ticket's: see above)."""
    return f"<hd-side-{conversation_id}.{secrets.token_hex(8)}@{_domain()}>"


_SIDE_MESSAGE_ID = re.compile(r"^<?hd-side-(\d+)\.[0-9a-f]+@([^>]+)>?$", re.IGNORECASE)


def side_id_from_message_id(message_id: str) -> int | None:
    match = _SIDE_MESSAGE_ID.match(message_id.strip())
    if match and match.group(2).lower() == _domain():
        return int(match.group(1))
    return None


def side_subject_tag(ticket_reference: str, conversation_id: int) -> str:
    """[HD-42/S7]: not a ticket's tag ([HD-42]), so it never threads onto the ticket."""
    return f"[{ticket_reference}/S{conversation_id}]"


def side_id_from_subject(subject: str) -> tuple[int, int] | None:
    """(ticket id, side conversation id) from a side conversation's subject tag."""
    prefix = re.escape(settings.HELPDESK_TICKET_PREFIX)
    match = re.search(rf"\[{prefix}-(\d+)/S(\d+)\]", subject, re.IGNORECASE)
    return (int(match.group(1)), int(match.group(2))) if match else None
