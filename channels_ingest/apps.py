from django.apps import AppConfig


class ChannelsIngestConfig(AppConfig):
    """Turns provider traffic (email, SMS, voice, chat) into inbound messages for tickets."""

    name = "channels_ingest"
    verbose_name = "Channels"
