from collections.abc import Iterator

import pytest

from channels_ingest.sms import backends
from tests.channels_ingest.sms.twilio_helpers import twilio_settings

__all__ = ["sms_outbox", "twilio_settings"]


@pytest.fixture
def sms_outbox() -> Iterator[list[backends.SentSms]]:
    """The locmem backend's outbox, empty at the start and the end of the test."""
    backends.outbox.clear()
    yield backends.outbox
    backends.outbox.clear()
