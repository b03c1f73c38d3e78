"""A batch of first emails from different readers, each opening a ticket (the notices
they get go out in one task: channels_ingest.tasks.deliver_messages)."""

from tickets.inbound import InboundMessage
from tickets.models import Channel


def new_ticket_mails(count: int, tag: str) -> list[InboundMessage]:
    """`count` first emails, reader0@example.com up; `tag` keeps their Message-IDs apart."""
    return [
        InboundMessage(
            channel=Channel.EMAIL,
            sender_kind="email",
            sender=f"reader{n}@example.com",
            subject=f"Question {n}",
            text="Where is my order?",
            external_id=f"<{tag}-{n}@example.com>",
        )
        for n in range(count)
    ]
