from tests.channels_ingest.sms.twilio_helpers import twilio_settings

__all__ = ["twilio_settings"]
