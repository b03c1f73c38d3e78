"""Every write to the ticket model goes through these functions (see STYLE.md).

Each runs in one transaction and records its TicketEvent in it. Domain refusals raise
tickets.errors.DomainError subclasses.
"""

from tickets.services.assignment import (
    agent_add,
    agent_release_tickets,
    assignee_by_id,
    ticket_assign,
    ticket_unassign,
)
from tickets.services.calls import ticket_log_call
from tickets.services.customers import (
    customer_add_contact_point,
    customer_create,
    customer_get_or_create_for_contact,
    customer_merge,
    customer_note,
    customer_note_language,
    customer_remove_contact_point,
    customer_set_language,
    customer_set_organization,
)
from tickets.services.delivery import (
    message_mark_failed,
    message_mark_sent,
    message_record_bounce,
    message_record_complaint,
    message_record_delay,
    message_record_delivery,
)
from tickets.services.escalation import ticket_escalate, ticket_move_tier
from tickets.services.ingest_many import ticket_ingest, ticket_ingest_many
from tickets.services.merging import refuse_merging_customers, ticket_merge
from tickets.services.messages import (
    last_inbound_channel,
    message_keep_received_files,
    ticket_add_inbound,
    ticket_add_note,
    ticket_change_priority,
    ticket_change_subject,
    ticket_open,
    ticket_reply,
)
from tickets.services.notices import (
    confirmation_sent,
    notifications_email,
    notify_agents,
    notify_customer,
)
from tickets.services.organizations import (
    organization_add_domain,
    organization_adopt_domain_customers,
    organization_remove_domain,
    organization_update,
)
from tickets.services.outbound import (
    automatic_reply_allowed,
    messages_claim_for_sending,
    messages_release_claim,
    pending_deliveries,
    ticket_send_automatic_reply,
)
from tickets.services.portal import (
    customer_send_sign_in_link,
    customer_sign_in_by_link,
    ticket_customer_reopen,
    ticket_customer_write,
)
from tickets.services.routing import routing_due, ticket_route
from tickets.services.satisfaction import ticket_rate
from tickets.services.sla_sweep import sla_sweep
from tickets.services.threads import late_references
from tickets.services.transitions import (
    ALLOWED_TRANSITIONS,
    ticket_change_status,
    ticket_close,
    ticket_reopen,
    ticket_resolve,
)
from tickets.services.undeliverable import contact_point_clear_flag, phone_record_opted_out
from tickets.services.workspace import (
    macro_render,
    parse_tags,
    ticket_add_tags,
    ticket_apply_macro,
    ticket_set_tags,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "agent_add",
    "agent_release_tickets",
    "assignee_by_id",
    "automatic_reply_allowed",
    "confirmation_sent",
    "contact_point_clear_flag",
    "customer_add_contact_point",
    "customer_create",
    "customer_get_or_create_for_contact",
    "customer_merge",
    "customer_note",
    "customer_note_language",
    "customer_remove_contact_point",
    "customer_send_sign_in_link",
    "customer_set_language",
    "customer_set_organization",
    "customer_sign_in_by_link",
    "last_inbound_channel",
    "late_references",
    "macro_render",
    "message_keep_received_files",
    "message_mark_failed",
    "message_mark_sent",
    "message_record_bounce",
    "message_record_complaint",
    "message_record_delay",
    "message_record_delivery",
    "messages_claim_for_sending",
    "messages_release_claim",
    "notifications_email",
    "notify_agents",
    "notify_customer",
    "organization_add_domain",
    "organization_adopt_domain_customers",
    "organization_remove_domain",
    "organization_update",
    "parse_tags",
    "pending_deliveries",
    "phone_record_opted_out",
    "refuse_merging_customers",
    "routing_due",
    "sla_sweep",
    "ticket_add_inbound",
    "ticket_add_note",
    "ticket_add_tags",
    "ticket_apply_macro",
    "ticket_assign",
    "ticket_change_priority",
    "ticket_change_status",
    "ticket_change_subject",
    "ticket_close",
    "ticket_customer_reopen",
    "ticket_customer_write",
    "ticket_escalate",
    "ticket_ingest",
    "ticket_ingest_many",
    "ticket_log_call",
    "ticket_merge",
    "ticket_move_tier",
    "ticket_open",
    "ticket_rate",
    "ticket_reopen",
    "ticket_reply",
    "ticket_resolve",
    "ticket_route",
    "ticket_send_automatic_reply",
    "ticket_set_tags",
    "ticket_unassign",
]
