"""The shared model every channel writes into: customers, tickets, messages and their history.

Writes go through tickets.services; these classes hold data and constraints, not behaviour.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Live chat")
    WEB = "web", _("Web form")
    API = "api", _("API")


class ContactKind(models.TextChoices):
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    CHAT = "chat", _("Chat identity")
    WEB = "web", _("Web identity")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses in which a ticket still needs work from the help desk or the customer.
ACTIVE_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.OPEN,
    TicketStatus.PENDING_CUSTOMER,
    TicketStatus.ON_HOLD,
)


# Statuses that wait on the help desk (the workspace's queues; not waiting on the customer).
WORKING_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class MessageKind(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")
    NOTE = "note", _("Internal note")


class DeliveryStatus(models.TextChoices):
    NOT_APPLICABLE = "", _("-")
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    # An automatic message held back (the hourly limit per address): never sent.
    SUPPRESSED = "suppressed", _("Not sent")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    MESSAGE_RECEIVED = "message_received", _("Customer wrote")
    REPLIED = "replied", _("Agent replied")
    NOTE_ADDED = "note_added", _("Internal note")
    ASSIGNED = "assigned", _("Assigned")
    UNASSIGNED = "unassigned", _("Unassigned")
    STATUS_CHANGED = "status_changed", _("Status changed")
    PRIORITY_CHANGED = "priority_changed", _("Priority changed")
    SUBJECT_CHANGED = "subject_changed", _("Subject changed")
    ESCALATED = "escalated", _("Escalated")
    DEESCALATED = "deescalated", _("De-escalated")
    MERGED_INTO = "merged_into", _("Merged into another ticket")
    MERGED_FROM = "merged_from", _("Another ticket merged in")
    CUSTOMER_MERGED = "customer_merged", _("Customer merged")
    ANONYMISED = "anonymised", _("Personal data removed")
    FOLLOW_UP = "follow_up", _("Follow-up of a closed ticket")
    RELATED = "related", _("Possibly related ticket")
    PARTICIPANT_ADDED = "participant_added", _("Participant added")
    CALL_LOGGED = "call_logged", _("Call logged")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
    DELIVERY_HELD = "delivery_held", _("Automatic message not sent")
    CONTACT_UNDELIVERABLE = "contact_undeliverable", _("Customer's address flagged")
    CONTACT_DELIVERABLE = "contact_deliverable", _("Customer's address flag cleared")
    SLA_POLICY = "sla_policy", _("SLA policy applied")
    KB_SUGGESTED = "kb_suggested", _("Self-service articles offered")
    DEFLECTED = "deflected", _("Solved by self-service")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breached")
    TAGS_CHANGED = "tags_changed", _("Tags changed")
    RATED = "rated", _("Customer rated the support")
    MACRO_APPLIED = "macro_applied", _("Canned response applied")
    CHAT_ACCEPTED = "chat_accepted", _("Chat accepted")
    CHAT_TRANSFERRED = "chat_transferred", _("Chat transferred")
    CHAT_ENDED = "chat_ended", _("Chat ended")
    RULE_FIRED = "rule_fired", _("Rule acted")
    RULE_STOPPED = "rule_stopped", _("Rule stopped")
    RULE_FAILED = "rule_failed", _("Rule could not act")
    PRODUCT_SET = "product_set", _("Product or service set")
    PROBLEM_LINKED = "problem_linked", _("Linked to a problem")
    PROBLEM_UNLINKED = "problem_unlinked", _("Unlinked from a problem")
    PROBLEM_SOLVED = "problem_solved", _("Answered as its problem was solved")
    TICKET_LINKED = "ticket_linked", _("Linked to a related ticket")
    TICKET_UNLINKED = "ticket_unlinked", _("Unlinked from a related ticket")
    SIDE_STARTED = "side_started", _("Side conversation started")
    SIDE_SENT = "side_sent", _("Side conversation: message sent")
    SIDE_RECEIVED = "side_received", _("Side conversation: reply received")
    SIDE_CLOSED = "side_closed", _("Side conversation closed")
    FIELDS_CHANGED = "fields_changed", _("Fields changed")


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    notes = models.TextField(blank=True, help_text="What agents should know (staff only).")
    # The organization's SLA plan: tried before every other policy for its customers' tickets.
    sla_policy = models.ForeignKey(
        "tickets.SLAPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="SLA plan",
        help_text="Tried first for this organization's tickets (its conditions still apply).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An email domain whose new customers join the organization on their first contact."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True, help_text="e.g. acme.example")

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class Customer(models.Model):
    """One person, however they reach us; their contact points say how."""

    name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    # A portal account, for customers who sign in.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
    )
    # Set when this customer was merged into another; kept so old references still resolve.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers"
    )
    # Set when their personal data was erased on request (tickets.privacy.erase): the row
    # stays as an anonymous placeholder, so statistics keep counting their tickets.
    erased_at = models.DateTimeField(null=True, blank=True)
    # The language of every automatic message to them and of the portal when signed in (one
    # of settings.LANGUAGES; blank: not known yet). Detected from their browser or first
    # message (helpdesk.languages); their own choice in the portal replaces it.
    language = models.CharField(max_length=10, blank=True, default="", choices=settings.LANGUAGES)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name"], name="customer_name_idx")]

    def __str__(self) -> str:
        return self.name or f"Customer {self.pk}"


class CustomerNote(models.Model):
    """What agents keep in mind about a customer (staff only ever read it)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="customer_note_idx")]

    def __str__(self) -> str:
        return self.text[:60]


class Undeliverable(models.TextChoices):
    """Why automatic notices no longer go to an email address, or no text to a number."""

    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Marked our email as spam")
    # A phone number whose owner texted STOP: no text at all goes to it (an agent's reply
    # neither) until they text START; only they can undo it.
    OPTED_OUT = "opted_out", _("Replied STOP to our texts")


class ContactPoint(models.Model):
    """An address or number that identifies a customer; stored normalised."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    value = models.CharField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now)
    # When the customer proved the address or number is theirs (a link sent to it, opened).
    verified_at = models.DateTimeField(null=True, blank=True)
    # An email address that hard-bounced, or whose owner marked our mail as spam: automatic
    # notices skip it until an agent clears it (or, for a bounce, a later delivery report).
    # A number whose owner texted STOP: no text goes to it until they text START.
    undeliverable = models.CharField(
        max_length=10, choices=Undeliverable.choices, blank=True, default=""
    )
    # When the provider or mail server said so, and what it said.
    undeliverable_at = models.DateTimeField(null=True, blank=True)
    undeliverable_reason = models.TextField(blank=True)
    # The latest time it was known to work: a delivery report's time, or when an agent
    # cleared its flag. A report dated before it is older news and flags nothing.
    deliverable_at = models.DateTimeField(null=True, blank=True)
    # When an agent last cleared its flag: a complaint dated before it is not raised again.
    flag_cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="contactpoint_unique_kind_value")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class AssignmentMode(models.TextChoices):
    MANUAL = "manual", "Manual: agents pull tickets from the queue"
    ROUND_ROBIN = "round_robin", "Round-robin among available agents"
    LEAST_OPEN = "least_open", "Available agent with the fewest open tickets"


class Tier(models.Model):
    """A support level (0 self-service ... 3 experts) and the agent queue of that level."""

    level = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    assignment_mode = models.CharField(
        max_length=20,
        choices=AssignmentMode.choices,
        default=AssignmentMode.MANUAL,
        help_text="How new tickets of this tier find an agent (only agents of this tier who "
        "are marked available).",
    )
    # Round-robin remembers whom it gave the last ticket to.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    handoff_after_minutes = models.PositiveIntegerField(
        default=15,
        help_text="Tier 0 only: how long self-service may work on a normal or low priority "
        "ticket before it moves on to tier 1. High and urgent tickets, and tickets whose "
        "customer writes again, move on at once.",
    )

    class Meta:
        ordering = ["level"]
        constraints = [models.CheckConstraint(condition=Q(level__lte=3), name="tier_level_0_to_3")]

    def __str__(self) -> str:
        return f"Tier {self.level}: {self.name}"


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    tiers = models.ManyToManyField(Tier, related_name="agents", blank=True)
    is_available = models.BooleanField(
        default=True, help_text="Available agents receive automatic assignments."
    )
    email_notifications = models.BooleanField(
        default=False,
        help_text="Also email assignments, escalations to my tiers and SLA warnings/breaches.",
    )
    # The signatures appended to this agent's replies, one per channel (tickets.signatures).
    signature = models.TextField("email signature", blank=True)
    sms_signature = models.CharField("SMS signature", max_length=40, blank=True)
    chat_signature = models.CharField("chat signature", max_length=200, blank=True)
    web_signature = models.TextField(
        "web signature",
        blank=True,
        help_text="For replies to web-form tickets (read in the portal and by email); "
        "empty: the email signature.",
    )
    # {kind: {"app": bool, "email": bool}} where the agent differs from the defaults
    # (tickets.services.notification_prefs).
    notification_settings = models.JSONField(default=dict, blank=True)
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="Dates in the workspace; empty: the server's."
    )
    language = models.CharField(
        max_length=10, blank=True, help_text="The workspace's language; empty: the browser's."
    )
    max_chats = models.PositiveSmallIntegerField(
        default=3, help_text="Live chats this agent may hold at once."
    )
    # Refreshed by the agent's open workspace (a heartbeat): "online" for live chat.
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


# What automations narrow their tickets by, kept in their indexes.
_AUTOMATION_COLUMNS = ["tier", "priority", "channel", "assignee"]


class Ticket(models.Model):
    subject = models.CharField(max_length=255)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    channel = models.CharField(
        max_length=10, choices=Channel.choices, help_text="The channel the ticket came in on."
    )
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    # A customer who writes again after a ticket was closed gets a new ticket linked here.
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    # SLA deadlines, stored so that queues and the SLA sweep are index range scans.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    # The earliest running deadline of the three: the queue's default sort key.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_policy = models.ForeignKey(
        "tickets.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The next moment an SLA warning or breach may fire: the SLA sweep's range scan.
    sla_next_check_at = models.DateTimeField(null=True, blank=True)
    # When routing must look at the ticket again (tier-0 hand-off); swept if a task was lost.
    routing_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # Since when the customer waits for an answer (their oldest message not yet answered);
    # empty once an agent replied publicly. A reply's wait is measured from it.
    awaiting_reply_since = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When it entered its present status: what automations count from ("waiting on the
    # customer for 3 days").
    status_since = models.DateTimeField(default=timezone.now, db_default=Now())
    tags = models.ManyToManyField("tickets.Tag", blank=True, related_name="tickets")
    # What it is about (tickets.catalog) and the root cause it is an incident of (a problem).
    product = models.ForeignKey(
        "tickets.Product", null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        related_name="tickets",
    )  # fmt: skip
    service = models.ForeignKey(
        "tickets.Service", null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        related_name="tickets",
    )  # fmt: skip
    problem = models.ForeignKey(
        "tickets.Problem", null=True, blank=True, on_delete=models.SET_NULL, db_index=False,
        related_name="incidents",
    )  # fmt: skip
    # The customer's latest satisfaction rating (1-5); every rating is also a "rated" event.
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    # Whether any agent follows it (tickets.collab): read with the ticket wherever its events
    # are written, so that telling followers costs no query for the (many) tickets without.
    has_followers = models.BooleanField(default=False, db_default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Agent queues: a tier's tickets in a status, most urgent deadline first.
            models.Index(fields=["tier", "status", "sla_due_at", "id"], name="ticket_queue_idx"),
            # "My tickets".
            models.Index(
                fields=["assignee", "status", "sla_due_at", "id"], name="ticket_assignee_idx"
            ),
            # A customer's history.
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            # API listing, newest first.
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            # The SLA sweep: only tickets with a clock that can still fire, by time.
            models.Index(
                fields=["sla_next_check_at"],
                condition=Q(sla_next_check_at__isnull=False),
                name="ticket_sla_check_idx",
            ),
            # The routing sweep: only tickets waiting for routing, by due time.
            models.Index(
                fields=["routing_due_at"],
                condition=Q(routing_due_at__isnull=False),
                name="ticket_routing_due_idx",
            ),
            # Partial indexes of the workspace's queues, on the (few) active tickets only.
            # A tier's queue in deadline order (an index range, whatever the page's depth).
            models.Index(
                fields=["tier", "sla_due_at", "id"],
                condition=Q(status__in=WORKING_STATUSES, merged_into__isnull=True),
                name="ticket_tier_due_idx",
            ),
            # "Breaching soon": a range count, and that queue in deadline order.
            models.Index(
                fields=["sla_due_at", "id"],
                condition=Q(status__in=WORKING_STATUSES, merged_into__isnull=True),
                name="ticket_working_due_idx",
            ),
            # Automations (tickets.automation.timed): the open tickets whose clock started
            # before a time, a range of each of these indexes, read without the table (the
            # columns automations narrow by are in them).
            models.Index(
                fields=["status", "status_since", "id"],
                include=_AUTOMATION_COLUMNS,
                condition=~Q(status="closed") & Q(merged_into__isnull=True),
                name="ticket_status_since_idx",
            ),
            *[
                models.Index(
                    fields=[column, "id"],
                    include=["status", *_AUTOMATION_COLUMNS],
                    condition=Q(status__in=ACTIVE_STATUSES, merged_into__isnull=True),
                    name=f"ticket_active_{name}_idx",
                )
                for column, name in (
                    ("created_at", "created"),
                    ("awaiting_reply_since", "awaiting"),
                    ("last_message_at", "last_message"),
                )
            ],
            # Few tickets have a product, service or problem: only those are indexed.
            *[
                models.Index(
                    fields=[column, "id"],
                    condition=Q(**{f"{column}__isnull": False}),
                    name=f"ticket_{column}_idx",
                )
                for column in ("product", "service", "problem")
            ],
            # Retention rules (tickets.privacy.retention): closed tickets by when they closed.
            models.Index(
                fields=["closed_at", "id"],
                condition=Q(status="closed"),
                name="ticket_closed_idx",
            ),
            # The sidebar's counts: an index-only scan of the active tickets.
            models.Index(
                fields=["status", "tier", "assignee"],
                condition=Q(status__in=ACTIVE_STATUSES, merged_into__isnull=True),
                name="ticket_active_count_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return format_reference(self.pk)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def format_reference(ticket_id: int) -> str:
    return f"{settings.HELPDESK_TICKET_PREFIX}-{ticket_id}"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_messages",
    )
    author_customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # Subject of an automatic notice we send (replies use the ticket's subject).
    subject = models.CharField(max_length=255, blank=True)
    # The address or number an inbound message came from (a customer may have several).
    sender = models.CharField(max_length=320, blank=True)
    body_text = models.TextField(blank=True)
    # Always sanitised before it is stored (tickets.html.sanitize_html).
    body_html = models.TextField(blank=True)
    # The channel's own id (Message-ID, SMS sid, chat client id): a redelivery is stored once.
    # NULL, not "", when absent: the unique constraint only applies to real ids.
    external_id = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default="", blank=True
    )
    # Why delivery failed, as the provider said it; while it is still SENT, why it is delayed
    # (a delay warning, until the delivery or the bounce it announced).
    delivery_error = models.TextField(blank=True)
    # The provider's id for a message we sent (ESP message id, Twilio SID): status callbacks
    # find the message by it.
    provider_id = models.CharField(max_length=255, blank=True, db_index=True)
    # A pending message a worker process is sending: which one (a token of its batch) and
    # until when. Another process leaves it until then; a claim whose process died runs
    # out, and the sweep sends the message again (channels_ingest.delivery).
    claimed_by = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Auto-replies, bounces and bulk mail: stored, never answered automatically.
    is_automatic = models.BooleanField(default=False)
    # An agent's public reply to a waiting customer: how long they had waited (calendar and
    # business minutes), and whether it was the ticket's first reply. Reports read these.
    waited_minutes = models.PositiveIntegerField(null=True, blank=True)
    waited_business_minutes = models.PositiveIntegerField(null=True, blank=True)
    # A database default too: rows written outside Django (imports, bulk loads) are not
    # first replies unless they say so.
    first_reply = models.BooleanField(default=False, db_default=False)
    # The message exactly as it arrived (an email's RFC 5322 source), for "show original".
    original = models.FileField(upload_to="originals/%Y/%m/%d/", blank=True)
    # The key of the page's form an agent sent it from (a reply or a note): the same form
    # sent again (a double click, a page resent) is the message already written.
    form_key = models.CharField(max_length=40, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["author_user", "form_key"],
                condition=~Q(form_key=""),
                name="message_unique_form_key",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_idx"),
            # The reports' reply times and agents' replies over a period.
            models.Index(
                fields=["created_at"],
                include=[
                    "ticket",
                    "author_user",
                    "waited_minutes",
                    "waited_business_minutes",
                    "first_reply",
                ],
                condition=Q(kind="outbound"),
                name="message_reply_idx",
            ),
            # The outbound sweep's messages still pending (a few among millions sent).
            models.Index(
                fields=["created_at", "id"],
                condition=Q(kind="outbound", delivery_status="pending"),
                name="message_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on ticket {self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE


class MessagePart(models.Model):
    """One of the texts a long outbound message went out as (an SMS over 1,600 characters):
    the provider reports on each by its own id. The message is delivered when every part
    is, failed when any part fails. A message sent whole has none (its provider_id says it).
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts")
    position = models.PositiveSmallIntegerField()  # 1, 2, ... as sent
    provider_id = models.CharField(max_length=255, db_index=True)
    delivery_status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SENT
    )

    class Meta:
        ordering = ["message", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"], name="message_part_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"Part {self.position} of message {self.message_id}"


class ThreadReference(models.Model):
    """A Message-ID an inbound email answered that named no stored message when it was
    threaded: the message it answers arrives later (delivered or processed out of order),
    or never (mail the help desk was not sent). When a message with that id comes in, it
    joins the conversation of the messages that named it (tickets/services/threads.py)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    referenced_id = models.CharField(max_length=500)
    # The naming message opened its ticket: that ticket exists for want of the parent.
    opened_ticket = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["referenced_id"], name="thread_reference_idx")]

    def __str__(self) -> str:
        return f"{self.referenced_id} named by message {self.message_id}"


class TicketParticipant(models.Model):
    """Someone besides the customer on an email conversation (a CC): they receive replies."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    email = models.CharField(max_length=320)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "email"], name="participant_unique_email")
        ]

    def __str__(self) -> str:
        return self.email


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class CallLog(models.Model):
    """The phone-call details of a message on the phone channel."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="call")
    direction = models.CharField(max_length=10, choices=CallDirection.choices)
    phone_number = models.CharField(max_length=32)
    duration_seconds = models.PositiveIntegerField(default=0)
    recording_url = models.URLField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call {self.phone_number}"


class StoredFile(models.Model):
    """What is kept of a file sent or received with a message (a ticket's, a side
    conversation's): written under one set of rules (tickets.services.messages.file_rows)."""

    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    # Set for inline images referenced from the HTML body as cid:<content_id>.
    content_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.filename


class Attachment(StoredFile):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/%d/")


class TicketEvent(models.Model):
    """Append-only history of a ticket: written by services, never edited."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_events",
    )
    # Who acted when it was not a person, e.g. "SLA policy Gold" or "system".
    actor_label = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_idx"),
            # Reports count events of one kind over a period (deflections, escalations).
            models.Index(fields=["kind", "created_at"], name="event_kind_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on ticket {self.ticket_id}"


# SLA configuration and clocks live in their own module; importing them here registers them.
from tickets.models_audit import AuditAction, AuditEntry  # noqa: E402
from tickets.models_automation import (  # noqa: E402
    Automation,
    AutomationFiring,
    DeliveryState,
    Trigger,
    TriggerFiring,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookFormat,
)
from tickets.models_branding import Brand  # noqa: E402
from tickets.models_catalog import (  # noqa: E402
    Product,
    ProductPlan,
    Service,
    ServiceStatus,
)
from tickets.models_chat import ChatSession, ChatStatus  # noqa: E402
from tickets.models_collab import (  # noqa: E402
    SideAttachment,
    SideConversation,
    SideMessage,
    SideMessageKind,
    SideStatus,
    TicketFollower,
    TicketLink,
)
from tickets.models_fields import (  # noqa: E402
    CHOICE_KINDS,
    FieldChoice,
    FieldKind,
    TicketField,
    TicketFieldValue,
    TicketForm,
    TicketFormField,
)
from tickets.models_metrics import (  # noqa: E402
    DailyTargetCount,
    DailyTicketCount,
    RollupDay,
    RollupDirty,
    TicketMetrics,
    TierMove,
)
from tickets.models_privacy import (  # noqa: E402
    CustomerExport,
    ErasureMode,
    ExportState,
    RetentionRule,
)
from tickets.models_problems import (  # noqa: E402
    OPEN_PROBLEM_STATUSES,
    KnownIssue,
    KnownIssueSubscriber,
    Problem,
    ProblemEvent,
    ProblemEventKind,
    ProblemSource,
    ProblemStatus,
    Spike,
)
from tickets.models_security import (  # noqa: E402
    ApiToken,
    SecondFactorRule,
    SecurityEvent,
    SecurityEventKind,
    SignInPolicy,
)
from tickets.models_sla import (  # noqa: E402
    BusinessCalendar,
    ClockKind,
    CustomerNotice,
    CustomerNoticeTranslation,
    CustomHoliday,
    FiringKind,
    NoticeKind,
    Notification,
    OpeningHours,
    SLAAction,
    SLAClock,
    SLAFiring,
    SLAPolicy,
    Weekday,
)
from tickets.models_workspace import (  # noqa: E402
    Macro,
    ReportSubscription,
    SavedView,
    Tag,
    Team,
    ViewSharing,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CHOICE_KINDS",
    "OPEN_PROBLEM_STATUSES",
    "WORKING_STATUSES",
    "AgentProfile",
    "ApiToken",
    "AssignmentMode",
    "Attachment",
    "AuditAction",
    "AuditEntry",
    "Automation",
    "AutomationFiring",
    "Brand",
    "BusinessCalendar",
    "CallDirection",
    "CallLog",
    "Channel",
    "ChatSession",
    "ChatStatus",
    "ClockKind",
    "ContactKind",
    "ContactPoint",
    "CustomHoliday",
    "Customer",
    "CustomerExport",
    "CustomerNote",
    "CustomerNotice",
    "CustomerNoticeTranslation",
    "DailyTargetCount",
    "DailyTicketCount",
    "DeliveryState",
    "DeliveryStatus",
    "ErasureMode",
    "EventKind",
    "ExportState",
    "FieldChoice",
    "FieldKind",
    "FiringKind",
    "KnownIssue",
    "KnownIssueSubscriber",
    "Macro",
    "Message",
    "MessageKind",
    "NoticeKind",
    "Notification",
    "OpeningHours",
    "Organization",
    "OrganizationDomain",
    "Priority",
    "Problem",
    "ProblemEvent",
    "ProblemEventKind",
    "ProblemSource",
    "ProblemStatus",
    "Product",
    "ProductPlan",
    "ReportSubscription",
    "RetentionRule",
    "RollupDay",
    "RollupDirty",
    "SLAAction",
    "SLAClock",
    "SLAFiring",
    "SLAPolicy",
    "SavedView",
    "SecondFactorRule",
    "SecurityEvent",
    "SecurityEventKind",
    "Service",
    "ServiceStatus",
    "SideAttachment",
    "SideConversation",
    "SideMessage",
    "SideMessageKind",
    "SideStatus",
    "SignInPolicy",
    "Spike",
    "Tag",
    "Team",
    "Ticket",
    "TicketEvent",
    "TicketField",
    "TicketFieldValue",
    "TicketFollower",
    "TicketForm",
    "TicketFormField",
    "TicketLink",
    "TicketMetrics",
    "TicketParticipant",
    "TicketStatus",
    "Tier",
    "TierMove",
    "Trigger",
    "TriggerFiring",
    "ViewSharing",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookFormat",
    "Weekday",
    "format_reference",
]
