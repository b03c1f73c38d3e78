"""Input and output shapes of the API, kept apart: inputs validate, outputs present."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets import selectors
from tickets.fields import selectors as field_selectors
from tickets.models import (
    Attachment,
    CallDirection,
    CallLog,
    Channel,
    ContactKind,
    ContactPoint,
    Customer,
    Message,
    Priority,
    Problem,
    Product,
    Service,
    Ticket,
    TicketEvent,
    TicketParticipant,
    TicketStatus,
    Tier,
)
from tickets.services import sla_clocks

# --- Outputs -------------------------------------------------------------------------------


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: AbstractBaseUser) -> str:
        return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


class TierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tier
        fields = ["id", "level", "name", "description"]


class TierAgentSerializer(UserBriefSerializer):
    is_available = serializers.BooleanField()


class TierWithAgentsSerializer(TierSerializer):
    agents = serializers.SerializerMethodField()

    class Meta(TierSerializer.Meta):
        fields = [*TierSerializer.Meta.fields, "agents"]

    @extend_schema_field(TierAgentSerializer(many=True))
    def get_agents(self, tier: Tier) -> list[dict[str, Any]]:
        return [
            {**UserBriefSerializer(profile.user).data, "is_available": profile.is_available}
            for profile in tier.agents.all()
        ]


class ContactPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactPoint
        fields = [
            "id",
            "kind",
            "value",
            "created_at",
            "undeliverable",
            "undeliverable_at",
            "undeliverable_reason",
        ]
        extra_kwargs = {
            "undeliverable": {
                "help_text": "Why automatic notices no longer go to this email address "
                "(empty: they do): it bounced, or its owner marked our email as spam."
            },
            "undeliverable_at": {"help_text": "When the provider or mail server said so."},
            "undeliverable_reason": {"help_text": "What it said."},
        }


class CustomerBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]


class CustomerSerializer(serializers.ModelSerializer):
    organization = serializers.CharField(source="organization.name", default=None, allow_null=True)
    contact_points = ContactPointSerializer(many=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "organization", "contact_points", "created_at"]


class ProductBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name"]


class ServiceBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "identifier", "product", "region"]


class ProblemBriefSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(help_text="PRB-<id>.")

    class Meta:
        model = Problem
        fields = ["id", "reference", "title", "status"]


class TicketSerializer(serializers.ModelSerializer):
    reference = serializers.CharField()
    tier = serializers.IntegerField(source="tier.level", help_text="Tier level, 0-3.")
    customer = CustomerBriefSerializer()
    assignee = UserBriefSerializer(allow_null=True)
    merged_into: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    tags: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name", help_text="Tag names, in order."
    )
    product = ProductBriefSerializer(allow_null=True, help_text="What the ticket is about.")
    service = ServiceBriefSerializer(
        allow_null=True, help_text="Which of the customer's services it is about."
    )
    problem = ProblemBriefSerializer(allow_null=True, help_text="The problem it is an incident of.")
    custom_fields = serializers.SerializerMethodField(
        help_text="Every active custom field by key: text, number, date (YYYY-MM-DD), a "
        "drop-down's choice value, a multi-select's list of values, a checkbox's true/false; "
        "null when empty."
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "priority",
            "channel",
            "tier",
            "customer",
            "assignee",
            "merged_into",
            "tags",
            "product",
            "service",
            "problem",
            "custom_fields",
            "first_response_due_at",
            "next_response_due_at",
            "resolution_due_at",
            "sla_due_at",
            "first_responded_at",
            "last_message_at",
            "resolved_at",
            "closed_at",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.DictField())
    def get_custom_fields(self, ticket: Ticket) -> dict[str, Any]:
        """From the page's values read at once (field_context), else read for this ticket."""
        definitions = self.context.get("field_definitions")
        if definitions is None:
            definitions = field_selectors.active_fields()
        page = self.context.get("field_values")
        if not definitions:
            return {}
        if page is not None and ticket.pk in page.ticket_ids:
            values = page.values.get(ticket.pk, {})
        else:
            values = field_selectors.values_of([ticket.pk]).get(ticket.pk, {})
        return field_selectors.api_values(definitions, values)


@dataclass(frozen=True)
class PageValues:
    ticket_ids: frozenset[int]
    values: dict[int, dict[int, list[Any]]]


def field_context(tickets: list[Ticket]) -> dict[str, Any]:
    """The serializer context giving a page of tickets their custom fields in one query,
    whatever its size (none without fields)."""
    ids = frozenset(ticket.pk for ticket in tickets)
    definitions = field_selectors.active_fields()
    values = field_selectors.values_of(ids) if definitions else {}
    return {"field_definitions": definitions, "field_values": PageValues(ids, values)}


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "content_id", "url"]

    def get_url(self, attachment: Attachment) -> str:
        return reverse("api:attachment-download", args=[attachment.pk])


class MessageAuthorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["agent", "customer", "system"])
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


class CallSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallLog
        fields = ["direction", "phone_number", "duration_seconds", "recording_url"]


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True)
    call = serializers.SerializerMethodField()
    original_url = serializers.SerializerMethodField(
        help_text="The message exactly as received (email source), when kept."
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "channel",
            "author",
            "body_text",
            "body_html",
            "external_id",
            "delivery_status",
            "delivery_error",
            "is_automatic",
            "sender",
            "attachments",
            "call",
            "original_url",
            "created_at",
        ]

    @extend_schema_field(CallSerializer(allow_null=True))
    def get_call(self, message: Message) -> dict[str, Any] | None:
        call = getattr(message, "call", None)
        return CallSerializer(call).data if call is not None else None

    def get_original_url(self, message: Message) -> str | None:
        if not message.original:
            return None
        return reverse("api:message-original", args=[message.pk])

    @extend_schema_field(MessageAuthorSerializer)
    def get_author(self, message: Message) -> dict[str, Any]:
        if message.author_user is not None:
            user = message.author_user
            return {"type": "agent", "id": user.pk, "name": str(user.get_full_name() or user)}
        if message.author_customer is not None:
            customer = message.author_customer
            return {"type": "customer", "id": customer.pk, "name": str(customer)}
        return {"type": "system", "id": None, "name": "system"}


class TicketEventSerializer(serializers.ModelSerializer):
    actor = UserBriefSerializer(allow_null=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "actor_label", "data", "created_at"]


class SLAClockSerializer(serializers.Serializer):
    kind = serializers.CharField()
    cycle = serializers.IntegerField()
    policy = serializers.CharField(allow_null=True)
    target_minutes = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    warning_at = serializers.DateTimeField(allow_null=True)
    elapsed_business_minutes = serializers.FloatField(allow_null=True)
    paused_periods = serializers.ListField(child=serializers.ListField(allow_null=True))
    state = serializers.ChoiceField(choices=["running", "paused", "warning", "breached", "met"])


def explain_clocks(ticket: Ticket) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for clock in ticket.clocks.select_related("policy__calendar").order_by("kind", "cycle"):
        state = sla_clocks.explain(clock, now)
        rows.append(
            {
                "kind": clock.kind,
                "cycle": clock.cycle,
                "policy": clock.policy.name if clock.policy else None,
                "target_minutes": clock.target_minutes,
                "started_at": clock.started_at,
                "due_at": clock.due_at,
                "warning_at": clock.warning_at,
                "elapsed_business_minutes": round(state.elapsed_minutes, 1) if state else None,
                "paused_periods": clock.pauses,
                "state": state.state if state else ("met" if clock.stopped_at else "running"),
            }
        )
    return rows


class TicketBriefSerializer(serializers.ModelSerializer):
    reference = serializers.CharField()

    class Meta:
        model = Ticket
        fields = ["id", "reference", "subject", "status", "channel", "created_at"]


class ParticipantSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketParticipant
        fields = ["email", "name"]


class TicketDetailSerializer(TicketSerializer):
    customer = CustomerSerializer()  # type: ignore[assignment]
    messages = MessageSerializer(many=True)
    events = TicketEventSerializer(many=True)
    participants = ParticipantSerializer(many=True)
    follow_up_of: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    sla_clocks = serializers.SerializerMethodField(
        help_text="Each SLA clock: target, due, business time elapsed, pauses and state."
    )
    customer_tickets = serializers.SerializerMethodField(
        help_text="The customer's latest 50 other tickets, on every channel, newest first "
        "(all of them: GET /api/v1/tickets/?customer=<id>)."
    )

    class Meta(TicketSerializer.Meta):
        fields = [
            *TicketSerializer.Meta.fields,
            "follow_up_of",
            "satisfaction",
            "participants",
            "customer_tickets",
            "sla_clocks",
            "messages",
            "events",
        ]

    @extend_schema_field(SLAClockSerializer(many=True))
    def get_sla_clocks(self, ticket: Ticket) -> list[dict[str, Any]]:
        return SLAClockSerializer(explain_clocks(ticket), many=True).data  # type: ignore[return-value]

    @extend_schema_field(TicketBriefSerializer(many=True))
    def get_customer_tickets(self, ticket: Ticket) -> list[dict[str, Any]]:
        history = getattr(ticket.customer, "history", None)
        if history is None:  # not read by selectors.ticket_detail
            history = ticket.customer.tickets.exclude(pk=ticket.pk).order_by("-created_at", "-id")
            history = history[: selectors.LATEST_CUSTOMER_TICKETS]
        return list(TicketBriefSerializer(history, many=True).data)  # the ticket is left out


class CustomerDetailSerializer(CustomerSerializer):
    tickets = TicketSerializer(
        many=True,
        source="latest_tickets",  # read by selectors.customer_detail
        help_text="The latest 50, newest first (all of them: GET /api/v1/tickets/?customer=<id>).",
    )
    merged_into: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "merged_into", "tickets"]


# --- Inputs --------------------------------------------------------------------------------


class StrictInput(serializers.Serializer):
    """An input that refuses the fields it does not know (400, with each named) instead of
    ignoring them: a client asking for something the API does not do must hear so."""

    # Query parameters the views read besides the serializer's (pagination).
    also_allowed: frozenset[str] = frozenset()

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = set(data.keys()) - set(self.fields) - self.also_allowed
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in sorted(unknown)}
                )
        return super().to_internal_value(data)


_LIST_PARAMETERS = frozenset({"cursor", "page_size", "format"})


class TicketListQuerySerializer(StrictInput):
    also_allowed = _LIST_PARAMETERS
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=[*TicketStatus.values, "active"]),
        required=False,
        help_text="One or more statuses (repeat the parameter); 'active' means not "
        "resolved or closed.",
    )
    tier = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=3), required=False
    )
    priority = serializers.ListField(
        child=serializers.ChoiceField(choices=Priority.choices), required=False
    )
    channel = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), required=False
    )
    assignee = serializers.RegexField(
        r"^(\d{1,18}|me|none)$",
        required=False,
        help_text="A user id, 'me', or 'none' for unassigned tickets.",
    )
    customer = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    q = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Text in the subject or a message, the customer's name, address or number, "
        "or a ticket reference.",
    )
    tag = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        help_text="Tickets with this tag (repeat the parameter: with all of them).",
    )
    problem = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="The incidents of a problem."
    )
    cf = serializers.CharField(
        required=False, max_length=40, help_text="A custom field's key, to filter by its value."
    )
    cf_op = serializers.ChoiceField(
        choices=["is", "between", "set", "not_set"],
        required=False,
        help_text="is cf_value (or one of a multi-select's choices; a checkbox: ticked), "
        "between cf_min and cf_max (numbers, dates), set, or not_set. Default: is, or between "
        "when a bound is given.",
    )
    cf_value = serializers.CharField(required=False, max_length=500)
    cf_min = serializers.CharField(required=False, max_length=40)
    cf_max = serializers.CharField(required=False, max_length=40)

    def to_internal_value(self, data: Any) -> Any:
        # Query strings repeat keys for lists; also accept comma-separated values.
        if hasattr(data, "getlist"):
            data = {
                key: [v for raw in data.getlist(key) for v in raw.split(",") if v]
                if key in ("status", "tier", "priority", "channel", "tag")
                else data.get(key)
                for key in data
            }
            # An empty parameter (`?q=`) means "no filter", as in DRF's own query parsing.
            data = {key: value for key, value in data.items() if value not in ("", [])}
        return super().to_internal_value(data)


class RequesterSerializer(StrictInput):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(required=False, max_length=40)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError("Give the requester's email or phone.")
        return attrs


class TicketCreateSerializer(StrictInput):
    requester = RequesterSerializer(
        required=False, help_text="Who the ticket is for; or give `customer`."
    )
    customer = serializers.IntegerField(required=False, min_value=1, help_text="Customer id.")
    subject = serializers.CharField(max_length=255)
    text = serializers.CharField(help_text="The customer's description of the problem.")
    html = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    tier = serializers.IntegerField(min_value=0, max_value=3, default=0)
    channel = serializers.ChoiceField(
        choices=[
            (c.value, c.label)
            for c in (Channel.API, Channel.EMAIL, Channel.PHONE, Channel.WEB, Channel.SMS)
        ],
        default=Channel.API,
    )
    external_id = serializers.CharField(
        required=False,
        max_length=500,
        help_text="Your id for this request: sending it twice creates one ticket.",
    )
    custom_fields = serializers.DictField(
        required=False,
        help_text="Custom field values by key; a wrong one refuses the whole request.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("requester")) == bool(attrs.get("customer")):
            raise serializers.ValidationError("Give exactly one of `requester` or `customer`.")
        return attrs


class TicketUpdateSerializer(StrictInput):
    subject = serializers.CharField(required=False, max_length=255)
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    assignee = serializers.IntegerField(
        required=False, allow_null=True, help_text="A user id, or null to unassign."
    )
    tags = serializers.ListField(
        child=serializers.RegexField(r"^[^,]+$", max_length=50),
        required=False,
        max_length=20,
        help_text="The ticket's tags, all of them (an empty list removes every tag).",
    )
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(),
        required=False,
        allow_null=True,
        help_text="The product it is about, or null for none (its service is kept if it is "
        "of this product).",
    )
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(),
        required=False,
        allow_null=True,
        help_text="One of the customer's (or their organization's) services, which sets its "
        "product too; null for none (the product is kept).",
    )
    custom_fields = serializers.DictField(
        required=False,
        help_text="Custom field values by key (null empties one); those not named are kept. "
        "Set before a status change in the same request, so a ticket can get the fields "
        "required when solving and be resolved at once.",
    )


class ReplyCreateSerializer(StrictInput):
    text = serializers.CharField()
    html = serializers.CharField(required=False, allow_blank=True, default="")
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Defaults to the channel the customer last wrote on.",
    )
    status = serializers.ChoiceField(
        choices=TicketStatus.choices,
        required=False,
        help_text="Status to set with the reply, e.g. pending_customer or resolved.",
    )


class NoteCreateSerializer(StrictInput):
    text = serializers.CharField()


class TierMoveSerializer(StrictInput):
    tier = serializers.IntegerField(min_value=0, max_value=3, help_text="Target tier level.")
    reason = serializers.CharField(max_length=500)
    handoff_note = serializers.CharField(
        help_text="What the next tier needs to know, so the customer is not asked again."
    )


class MergeSerializer(StrictInput):
    into = serializers.IntegerField(min_value=1, help_text="Id of the ticket or customer to keep.")


class CustomerCreateSerializer(StrictInput):
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(required=False, max_length=40)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("phone"):
            raise serializers.ValidationError("Give an email or a phone number.")
        return attrs


class ContactPointCreateSerializer(StrictInput):
    kind = serializers.ChoiceField(choices=[ContactKind.EMAIL, ContactKind.PHONE])
    value = serializers.CharField(max_length=320)


class CallLogCreateSerializer(StrictInput):
    ticket = serializers.IntegerField(
        required=False, min_value=1, help_text="Ticket to log the call on; omit to open one."
    )
    phone_number = serializers.CharField(max_length=40)
    direction = serializers.ChoiceField(choices=CallDirection.choices)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=24 * 3600)
    notes = serializers.CharField(help_text="What was said.")
    subject = serializers.CharField(
        required=False, max_length=255, help_text="Subject of a new ticket."
    )


class CustomerListQuerySerializer(StrictInput):
    also_allowed = _LIST_PARAMETERS
    q = serializers.CharField(required=False, max_length=200, help_text="Name, email or phone.")
