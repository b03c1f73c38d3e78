"""The outgoing webhooks' payload, documented in the OpenAPI schema's `webhooks` section
(SPECTACULAR_SETTINGS["WEBHOOKS"]). The payload itself is built by
tickets.automation.webhooks.payload; tests/automation check that the two agree."""

from drf_spectacular.utils import (
    OpenApiResponse,
    OpenApiWebhook,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from tickets.automation.rules import EVENTS
from tickets.automation.webhooks import PAYLOAD_VERSION
from tickets.models import Channel, MessageKind, Priority, TicketStatus


class WebhookPerson(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class WebhookCustomer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)


class WebhookTicket(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="e.g. HD-1042")
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    tier = serializers.IntegerField(help_text="0 (self-service) to 3 (experts)")
    channel = serializers.ChoiceField(choices=Channel.choices)
    assignee = WebhookPerson(allow_null=True)
    customer = WebhookCustomer()
    organization = WebhookPerson(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="The ticket in the agents' workspace.")


# "data" is a Serializer's own attribute, so this one is declared inline.
WebhookEventDetail = inline_serializer(
    name="WebhookEventDetail",
    fields={
        "kind": serializers.CharField(help_text="The ticket event's kind, e.g. status_changed."),
        "actor": serializers.CharField(help_text="Who: an agent's name, or e.g. 'Trigger: VIP'."),
        "data": serializers.DictField(
            help_text="What changed, e.g. {'from': 'open', 'to': 'resolved'}."
        ),
    },
    required=False,
)


class WebhookMessage(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class WebhookRating(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(allow_blank=True)


class WebhookPayload(serializers.Serializer):
    version = serializers.IntegerField(help_text=f"The payload's version: {PAYLOAD_VERSION}.")
    event_id = serializers.IntegerField(
        allow_null=True, help_text="The ticket event's id (null for an automation's call)."
    )
    type = serializers.ChoiceField(choices=[*EVENTS.items(), ("ticket.rule", "A rule's call")])
    occurred_at = serializers.DateTimeField()
    ticket = WebhookTicket()
    event = WebhookEventDetail
    message = WebhookMessage(required=False, help_text="When the event is about a message.")
    rating = WebhookRating(required=False, help_text="For ticket.rated.")


_SIGNED = (
    "POSTed as JSON to each webhook subscribed to the event (and by triggers' “Call a "
    "webhook” action), after the change is committed, from the `webhooks` queue. Headers: "
    "`X-Helpdesk-Event` (the type), `X-Helpdesk-Delivery` (the delivery's id: the same on "
    "every retry, a new one on a manual redelivery), `X-Helpdesk-Timestamp` (Unix seconds) "
    "and `X-Helpdesk-Signature: sha256=<hex>`, the HMAC-SHA256 with the webhook's secret of "
    "the timestamp, a dot and the raw body. Answer 2xx within 10 seconds; anything else is "
    "retried with exponential backoff, and a webhook that keeps failing is switched off and "
    'the admins told. Slack and Teams webhooks receive {"text": ...} instead, unsigned.'
)

ticket_event = OpenApiWebhook(
    name="ticketEvent",
    decorator=extend_schema(
        summary="Something happened to a ticket",
        description=_SIGNED,
        request=WebhookPayload,
        responses={200: OpenApiResponse(description="Received (any 2xx).")},
    ),
)
