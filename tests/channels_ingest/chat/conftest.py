"""The chat tests' shared fixtures (defined with the protocol's tests)."""

from tests.channels_ingest.chat.test_protocol import online_agent  # noqa: F401
