"""Working a ticket together: followers, related tickets and side conversations.

A side conversation is email with a third party (a vendor, another department) about a
ticket. Its messages are rows of their own, never the ticket's `Message`s: the customer's
conversation, the portal, SLA clocks, metrics and reports read `Message` only, so nothing
said to or by a vendor can reach the customer or count as an answer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import StoredFile


class TicketFollower(models.Model):
    """An agent who is told of a ticket's news (customer messages, status changes, notes)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_tickets"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="follower_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} follows ticket {self.ticket_id}"


class TicketLink(models.Model):
    """Two tickets an agent said are related; stored once, the lower id first."""

    low = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["low", "high"], name="ticket_link_unique_pair"),
            models.CheckConstraint(condition=Q(low__lt=F("high")), name="ticket_link_ordered"),
        ]
        indexes = [models.Index(fields=["high"], name="ticket_link_high_idx")]

    def __str__(self) -> str:
        return f"Tickets {self.low_id} and {self.high_id} are related"


class SideStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class SideConversation(models.Model):
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="side_conversations"
    )
    subject = models.CharField(max_length=255)
    # The third party's address, normalised (lower case).
    counterpart = models.CharField(max_length=320)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=SideStatus.choices, default=SideStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="side_conversation_idx")]

    def __str__(self) -> str:
        return self.subject


class SideMessageKind(models.TextChoices):
    INBOUND = "inbound", "From the third party"
    OUTBOUND = "outbound", "To the third party"


class SideMessage(models.Model):
    conversation = models.ForeignKey(
        SideConversation, on_delete=models.CASCADE, related_name="messages"
    )
    kind = models.CharField(max_length=10, choices=SideMessageKind.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The address an inbound message came from.
    sender = models.CharField(max_length=320, blank=True)
    body_text = models.TextField(blank=True)
    # Always sanitised before it is stored (tickets.html.sanitize_html).
    body_html = models.TextField(blank=True)
    # The email's Message-ID (ours for what we send): replies thread by it, and a redelivered
    # reply is stored once.
    external_id = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    delivery_status = models.CharField(max_length=10, default="", blank=True)
    delivery_error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    # A worker process sending it, and until when (as Message's: sending_claims).
    claimed_by = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    original = models.FileField(upload_to="side/%Y/%m/%d/", blank=True)
    # The key of the ticket page's form it was sent from (as Message.form_key): the same
    # form sent again is the message already sent.
    form_key = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="side_message_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["author_user", "form_key"],
                condition=~Q(form_key=""),
                name="side_message_unique_form_key",
            ),
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="side_message_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in side conversation {self.conversation_id}"


class SideAttachment(StoredFile):
    """A file on a side conversation's message, sent to or received from the third party.
    As a ticket's attachments (tickets.models.Attachment), under the same rules
    (tickets.services.messages.file_rows); only staff download it (tickets.downloads)."""

    message = models.ForeignKey(SideMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="side/attachments/%Y/%m/%d/")
