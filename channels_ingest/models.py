"""Raw inbound traffic, stored before it is acknowledged, and the mailboxes we poll."""

from django.db import models
from django.utils import timezone

from tickets.models import Channel, Message, Ticket


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received, not processed yet"
    PROCESSED = "processed", "Processed"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    # A request that looks like spam (the contact form's honeypot): kept for an admin.
    HELD = "held", "Held as suspected spam"


class InboundItem(models.Model):
    """One payload exactly as a provider or door delivered it.

    Written in the transaction that acknowledges the delivery, processed after commit; the
    unique key makes a redelivery (or a concurrent duplicate) a no-op.
    """

    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Which door it came through: "postmark", "mailgun", "cli", "imap:<mailbox>", "twilio".
    source = models.CharField(max_length=100)
    # Message-ID, MessageSid, CallSid ... or a hash of the payload when it has no id.
    idempotency_key = models.CharField(max_length=500)
    payload = models.BinaryField()
    content_type = models.CharField(max_length=100)
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # new / threaded / duplicate, once processed; side: a reply in a side conversation.
    outcome = models.CharField(max_length=10, blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "idempotency_key"], name="inbound_unique_key"
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.source} {self.idempotency_key[:60]}"


class MailboxSecurity(models.TextChoices):
    TLS = "tls", "IMAP over TLS (port 993)"
    STARTTLS = "starttls", "STARTTLS (port 143)"


class MailboxAuth(models.TextChoices):
    PASSWORD = "password", "Password"
    XOAUTH2 = "xoauth2", "OAuth2 (XOAUTH2: Microsoft 365, Gmail)"


class Mailbox(models.Model):
    """An IMAP mailbox polled for new mail. Secrets stay in the environment, named here."""

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(
        max_length=10, choices=MailboxSecurity.choices, default=MailboxSecurity.TLS
    )
    username = models.CharField(max_length=255)
    auth = models.CharField(
        max_length=10, choices=MailboxAuth.choices, default=MailboxAuth.PASSWORD
    )
    secret_env = models.CharField(
        max_length=100,
        help_text="Name of the environment variable holding the password, or for OAuth2 the "
        "refresh token.",
    )
    oauth_token_url = models.URLField(blank=True, help_text="OAuth2 token endpoint (XOAUTH2 only).")
    oauth_client_id = models.CharField(max_length=255, blank=True)
    oauth_client_secret_env = models.CharField(
        max_length=100, blank=True, help_text="Environment variable with the OAuth2 client secret."
    )
    oauth_scope = models.CharField(max_length=255, blank=True)
    folder = models.CharField(max_length=255, default="INBOX")
    move_to = models.CharField(
        max_length=255,
        blank=True,
        help_text="Folder to move processed mail to; empty: leave it and mark it seen.",
    )
    max_message_bytes = models.PositiveIntegerField(
        default=50 * 1024 * 1024, help_text="Larger messages are stored as a rejection note."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.name
