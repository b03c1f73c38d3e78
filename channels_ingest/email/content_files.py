"""Attachments of an email: safe names, true content types, and the limits on what is kept."""

from dataclasses import dataclass

from channels_ingest.email.parse_headers import decode_words, fix_surrogates
from tickets.files import safe_filename, sniff_content_type
from tickets.inbound import InboundAttachment

# At most this many attachments, and this multiple of the single-file limit in total.
MAX_ATTACHMENTS = 100
TOTAL_LIMIT_FACTOR = 2
# Files not stored are each named in the text up to this many, then counted.
MAX_NOTES = 20


@dataclass(frozen=True)
class FoundFile:
    """An attachment as found in the message, before names, types and limits are applied."""

    filename: str  # as declared (may be empty or hostile)
    declared_type: str
    content: bytes
    content_id: str = ""


def sanitize_filename(name: str, *, content_type: str = "", index: int = 1) -> str:
    """A safe file name from a MIME header value (RFC 2047 words decoded first)."""
    return safe_filename(
        decode_words(fix_surrogates(name or "")), content_type=content_type, index=index
    )


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            text = f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{size} bytes"  # pragma: no cover


def keep_attachments(
    found: list[FoundFile], *, max_bytes: int
) -> tuple[tuple[InboundAttachment, ...], list[str]]:
    """The attachments to store, and a note for each one that was not stored."""
    kept: list[InboundAttachment] = []
    notes: list[str] = []
    total_limit = max_bytes * TOTAL_LIMIT_FACTOR
    total = 0
    for index, item in enumerate(found, start=1):
        content_type = sniff_content_type(item.content, item.declared_type)
        filename = sanitize_filename(item.filename, content_type=content_type, index=index)
        size = len(item.content)
        reason = None
        if size > max_bytes:
            reason = f"larger than the {format_size(max_bytes)} limit"
        elif len(kept) >= MAX_ATTACHMENTS:
            reason = f"a message keeps at most {MAX_ATTACHMENTS} attachments"
        elif total + size > total_limit:
            reason = f"the attachments together exceed the {format_size(total_limit)} limit"
        if reason:
            notes.append(f"[Attachment {filename} ({format_size(size)}) was not stored: {reason}.]")
            continue
        total += size
        kept.append(
            InboundAttachment(
                filename=filename,
                content_type=content_type,
                content=item.content,
                content_id=item.content_id,
            )
        )
    if len(notes) > MAX_NOTES:
        more = len(notes) - MAX_NOTES
        notes = [*notes[:MAX_NOTES], f"[{more} more attachments were not stored.]"]
    return tuple(kept), notes
