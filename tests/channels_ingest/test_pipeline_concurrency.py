"""The same payload delivered concurrently (provider retries racing) is stored once."""

import pytest

from channels_ingest import pipeline
from channels_ingest.models import InboundItem
from tests.tickets.test_concurrency import run_together
from tickets.models import Message

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
RAW = b"Message-ID: <race@example.com>\r\nFrom: pat@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"


def test_concurrent_duplicate_delivery_is_stored_and_processed_once():
    def deliver(n: int) -> bool:
        item, created = pipeline.receive(
            channel="email",
            source="race",
            key="<race@example.com>",
            payload=RAW,
            content_type="message/rfc822",
            enqueue=False,
        )
        pipeline.process(item.pk)
        return created

    created = run_together(6, deliver)

    assert sorted(created) == [False] * 5 + [True]
    assert InboundItem.objects.count() == 1
    assert Message.objects.count() == 1
