"""A live chat: the conversation's state beside its ticket (the transcript is the messages)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChatStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for an agent")
    ACTIVE = "active", _("With an agent")
    ENDED = "ended", _("Ended")


class ChatSession(models.Model):
    # Identifies the conversation in the customer's signed token and in message ids.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="chat")
    tier = models.ForeignKey("tickets.Tier", on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chats",
    )
    # The client id of the customer's first message: a "start" resent after a dropped
    # connection finds this chat instead of opening a second one.
    start_client_id = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=200)
    email = models.EmailField()
    status = models.CharField(max_length=8, choices=ChatStatus.choices, default="waiting")
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=10, blank=True)  # customer, agent, timeout
    # The customer's socket last spoke: a chat whose customer is gone ends by itself.
    customer_seen_at = models.DateTimeField(default=timezone.now)
    # Read receipts: the highest message id each side has seen.
    customer_read_up_to = models.BigIntegerField(default=0)
    agent_read_up_to = models.BigIntegerField(default=0)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["tier", "created_at"],
                name="chat_waiting_idx",
                condition=Q(status="waiting"),
            ),
            models.Index(
                fields=["agent"], name="chat_active_agent_idx", condition=Q(status="active")
            ),
            models.Index(
                fields=["customer_seen_at"],
                name="chat_open_seen_idx",
                condition=~Q(status="ended"),
            ),
        ]

    def __str__(self) -> str:
        return f"Chat with {self.name}"
