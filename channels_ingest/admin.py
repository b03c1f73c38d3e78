"""Admin pages of the channels: raw inbound items (failures and retries) and mailboxes."""

import logging
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from channels_ingest import pipeline
from channels_ingest.models import InboundItem, InboundStatus, Mailbox, MailboxAuth
from channels_ingest.tasks import poll_mailbox
from channels_ingest.web import held
from tickets.errors import DomainError
from tickets.roles import is_admin

logger = logging.getLogger(__name__)

_PREVIEW_BYTES = 20_000


@admin.register(InboundItem)
class InboundItemAdmin(admin.ModelAdmin):
    """Everything that came in, as it came in. Failed items can be retried."""

    list_display = [
        "received_at",
        "channel",
        "source",
        "status",
        "outcome",
        "ticket_link",
        "attempts",
        "short_error",
    ]
    list_filter = ["status", "channel", "source"]
    search_fields = ["idempotency_key", "error"]
    list_select_related = ["ticket"]
    date_hierarchy = "received_at"
    actions = ["retry", "release_held"]
    exclude = ["payload"]
    readonly_fields = [
        "channel",
        "source",
        "idempotency_key",
        "content_type",
        "status",
        "attempts",
        "error",
        "outcome",
        "ticket",
        "message",
        "received_at",
        "processed_at",
        "payload_preview",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Ticket")
    def ticket_link(self, item: InboundItem) -> str:
        return item.ticket.reference if item.ticket else "-"

    @admin.display(description="Error")
    def short_error(self, item: InboundItem) -> str:
        return item.error[:120]

    @admin.display(description="Payload (start)")
    def payload_preview(self, item: InboundItem) -> str:
        text = bytes(item.payload[:_PREVIEW_BYTES]).decode("utf-8", errors="replace")
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)

    @admin.action(description="Retry processing of failed items", permissions=["view"])
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundItem]) -> None:
        failed = list(queryset.filter(status=InboundStatus.FAILED).values_list("pk", flat=True))
        count = pipeline.retry(failed)
        messages.success(request, f"{count} item(s) queued for another try.")

    @admin.action(
        description="Release held contact-form requests (open their tickets)",
        permissions=["release"],
    )
    def release_held(self, request: HttpRequest, queryset: QuerySet[InboundItem]) -> None:
        opened = []
        for pk in queryset.filter(status=InboundStatus.HELD).values_list("pk", flat=True):
            try:
                ticket = held.release(pk)
            except DomainError as error:  # said, and the others still released
                messages.error(request, f"Item {pk}: {error.message}")
                continue
            if ticket is not None:
                opened.append(ticket)
        references = ", ".join(ticket.reference for ticket in opened)
        messages.success(request, f"{len(opened)} request(s) released: {references or 'none'}.")

    def has_release_permission(self, request: HttpRequest) -> bool:
        """Releasing opens tickets and writes to customers: admins only."""
        return is_admin(request.user)


class MailboxForm(forms.ModelForm):
    oauth_token_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text="OAuth2 token endpoint, e.g. "
        "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token or "
        "https://oauth2.googleapis.com/token (XOAUTH2 only).",
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "enabled",
            "host",
            "port",
            "security",
            "username",
            "auth",
            "secret_env",
            "oauth_token_url",
            "oauth_client_id",
            "oauth_client_secret_env",
            "oauth_scope",
            "folder",
            "move_to",
            "max_message_bytes",
        ]
        help_texts = {
            "name": "Shown in the admin and recorded as the source of each imported email "
            '("imap:<name>").',
            "enabled": "Polled by Celery beat (every HELPDESK_IMAP_POLL_SECONDS) while enabled.",
            "host": "IMAP server, e.g. imap.gmail.com or outlook.office365.com.",
            "port": "993 for IMAP over TLS, 143 for STARTTLS.",
            "security": "The connection is always encrypted and the certificate checked.",
            "username": "The login, usually the full email address.",
            "auth": "Password: IMAP LOGIN. OAuth2: XOAUTH2 with an access token obtained from "
            "the refresh token below.",
            "oauth_client_id": "OAuth2 application (client) id (XOAUTH2 only).",
            "oauth_scope": "E.g. https://outlook.office365.com/IMAP.AccessAsUser.All "
            "offline_access, or https://mail.google.com/ (XOAUTH2 only).",
            "folder": "The folder whose unseen messages are imported.",
            "move_to": "Folder to move imported mail to (created if missing); empty: leave it "
            "where it is, marked seen.",
            "max_message_bytes": "Larger messages are not imported: a short note with their "
            "sender and subject is stored instead, so the customer still gets a ticket.",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("auth") == MailboxAuth.XOAUTH2:
            for field in ("oauth_token_url", "oauth_client_id"):
                if not data.get(field):
                    self.add_error(field, "Required for OAuth2.")
        folder, move_to = data.get("folder"), data.get("move_to")
        if move_to and folder and move_to == folder:
            self.add_error("move_to", "Must differ from the folder that is polled.")
        return data


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    """IMAP mailboxes polled for new mail. Secrets stay in the environment: only their
    variable names are stored here."""

    form = MailboxForm
    list_display = ["name", "host", "username", "enabled", "last_polled_at", "last_error"]
    list_filter = ["enabled", "auth"]
    search_fields = ["name", "host", "username"]
    readonly_fields = ["last_polled_at", "last_error"]
    actions = ["poll_now"]
    fieldsets = [
        (None, {"fields": ["name", "enabled"]}),
        ("Server", {"fields": ["host", "port", "security"]}),
        ("Login", {"fields": ["username", "auth", "secret_env"]}),
        (
            "OAuth2 (XOAUTH2 only)",
            {
                "fields": [
                    "oauth_token_url",
                    "oauth_client_id",
                    "oauth_client_secret_env",
                    "oauth_scope",
                ]
            },
        ),
        ("Folders", {"fields": ["folder", "move_to", "max_message_bytes"]}),
        ("Last poll", {"fields": ["last_polled_at", "last_error"]}),
    ]

    @admin.action(description="Poll now", permissions=["change"])
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        mailboxes = list(queryset.filter(enabled=True))
        try:
            for mailbox in mailboxes:
                poll_mailbox.delay(mailbox.pk)
        except Exception:
            logger.exception("could not queue a mailbox poll")
            messages.error(request, "Could not queue the poll: is the task queue running?")
            return
        skipped = queryset.count() - len(mailboxes)
        note = f" ({skipped} disabled mailbox(es) skipped)" if skipped else ""
        messages.success(
            request,
            f"Polling {len(mailboxes)} mailbox(es){note}; refresh to see the result.",
        )
