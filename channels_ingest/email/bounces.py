"""Delivery status notifications (RFC 3464): a mail server's report that an email we sent
could not be delivered, or not yet. Read so the report lands on the message it is about,
not on a new ticket from MAILER-DAEMON."""

import email
import email.policy
import logging
from email.message import Message as EmailMessage
from email.parser import HeaderParser

from channels_ingest.email.parse_headers import message_ids
from tickets.inbound import DeliveryReport

# What a report may say of a recipient: only "failed" is final; "delayed" means the server
# is still trying. "delivered", "relayed" and "expanded" are success reports.
_FAILED = "failed"
_DELAYED = "delayed"
_REASON_CHARS = 1000

logger = logging.getLogger(__name__)


def delivery_report(raw: bytes, content_type: str) -> DeliveryReport | None:
    """The report this email is, or None for any other email (`content_type`: its top-level
    Content-Type header, checked first so other mail is not parsed twice)."""
    kind, _, parameters = content_type.partition(";")
    if kind.strip().lower() != "multipart/report":
        return None
    if "delivery-status" not in parameters.lower():
        return None
    try:
        return _read(email.message_from_bytes(raw, policy=email.policy.compat32))
    except Exception as error:  # unreadable: then it is stored as the message it looks like
        logger.info("delivery report not read: %s", type(error).__name__)
        return None


def _read(report: EmailMessage) -> DeliveryReport | None:
    recipients = _recipient_blocks(report)
    actions = {block.get("Action", "").strip().lower() for block in recipients}
    if _FAILED not in actions and _DELAYED not in actions:
        return None  # a success report, or one we cannot read: an ordinary message
    failed = [block for block in recipients if block.get("Action", "").strip().lower() == _FAILED]
    return DeliveryReport(
        message_ids=_reported_message_ids(report),
        failed=bool(failed),
        failed_recipients=tuple(_address(block) for block in failed if _address(block)),
        reason=_reason(failed or recipients),
        permanent_recipients=tuple(
            _address(block) for block in failed if _address(block) and _permanent(block)
        ),
    )


def _permanent(block: EmailMessage) -> bool:
    """A failure of class 5 (RFC 3463: permanent), or one that gives no status: the
    action "failed" is final by itself (RFC 3464)."""
    status = str(block.get("Status", "")).strip()
    return not status.startswith(("2", "4"))


def _recipient_blocks(report: EmailMessage) -> list[EmailMessage]:
    """The per-recipient field blocks of the message/delivery-status part (the first block
    is the reporting server's own)."""
    for part in report.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            blocks = part.get_payload()
            if isinstance(blocks, list):
                return [
                    block
                    for block in blocks[1:]
                    if isinstance(block, EmailMessage) and block.get("Action")
                ]
    return []


def _reported_message_ids(report: EmailMessage) -> tuple[str, ...]:
    """The Message-ID of the email the report is about: from its enclosed copy or headers,
    else from the report's own In-Reply-To and References."""
    found: list[str] = []
    for part in report.walk():
        content_type = part.get_content_type()
        enclosed: EmailMessage | None = None
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            first = payload[0] if isinstance(payload, list) and payload else None
            enclosed = first if isinstance(first, EmailMessage) else None
        elif content_type in ("text/rfc822-headers", "message/global-headers"):
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                enclosed = HeaderParser().parsestr(text.decode("utf-8", "replace"))
        if enclosed is not None:
            found += message_ids(str(enclosed.get("Message-ID", "")), bare=True)
    for name in ("In-Reply-To", "References"):
        found += message_ids(str(report.get(name, "")))
    return tuple(dict.fromkeys(found))


def _address(block: EmailMessage) -> str:
    """'rfc822; someone@example.com' -> 'someone@example.com'."""
    value = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
    return value.partition(";")[2].strip().strip("<>").lower()


def _reason(blocks: list[EmailMessage]) -> str:
    """What the server said, as agents read it: the status code and its diagnostic."""
    reasons = []
    for block in blocks:
        status = " ".join(str(block.get("Status", "")).split())
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
        diagnostic = diagnostic.partition(";")[2].strip() or diagnostic
        said = diagnostic or (f"status {status}" if status else "")
        address = _address(block)
        reasons.append(f"{address}: {said}" if address and said else said or address)
    return "; ".join(reason for reason in reasons if reason)[:_REASON_CHARS]
