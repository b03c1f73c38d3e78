from django.apps import AppConfig


class ChannelsIngestConfig(AppConfig):
    """Turns provider traffic (email, SMS, voice, chat) into inbound messages for tickets."""

    name = "channels_ingest"
    verbose_name = "Channels"

    def ready(self) -> None:
        from anymail.signals import inbound, tracking

        from channels_ingest import privacy
        from channels_ingest.email import boundaries
        from channels_ingest.email.tracking import record_email_delivery
        from channels_ingest.email.webhooks import receive_inbound_email
        from tickets.privacy.erase import erase_listeners

        boundaries.install()  # every email this process parses, anymail's too
        inbound.connect(receive_inbound_email, dispatch_uid="helpdesk-inbound-email")
        tracking.connect(record_email_delivery, dispatch_uid="helpdesk-email-delivery")
        # Erasing tickets erases the raw payloads they came from.
        if privacy.forget_payloads not in erase_listeners:
            erase_listeners.append(privacy.forget_payloads)
