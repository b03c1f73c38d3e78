"""Demo data: tiers' agents, an admin, customers and tickets across channels. Idempotent."""

from datetime import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from knowledge.demo import load_demo_knowledge_base
from tickets import services
from tickets.automation import manage
from tickets.inbound import InboundMessage, IngestOutcome
from tickets.management.commands._demo_history import load_history
from tickets.management.commands._demo_problems import load_catalog_and_burst
from tickets.models import (
    AgentProfile,
    Automation,
    BusinessCalendar,
    Channel,
    ContactKind,
    Macro,
    OpeningHours,
    Organization,
    OrganizationDomain,
    SLAPolicy,
    Tier,
    Trigger,
)
from tickets.roles import ADMINS_GROUP, AGENTS_GROUP, LEADS_GROUP

DEMO_PASSWORD = "demo"
ADMIN = ("admin", "Ada", "Admin")
# A lead works tickets and reads the reports.
LEADS = {"carol"}
# username, first name, last name, tier levels
AGENTS = [
    ("alice", "Alice", "Frontline", [1]),
    ("bob", "Bob", "Frontline", [1]),
    ("carol", "Carol", "Technical", [1, 2]),
    ("dan", "Dan", "Technical", [2]),
    ("erin", "Erin", "Expert", [2, 3]),
]

# external id, channel, (contact kind, contact), name, organization, subject, text, priority
# Organizations whose email domain makes new customers members.
DOMAINS = {"Initech": "initech.example"}
TICKETS: list[tuple[str, str, tuple[str, str], str, str, str, str, str]] = [
    (
        "demo-1",
        Channel.EMAIL,
        (ContactKind.EMAIL, "maria.lopez@example.com"),
        "Maria Lopez",
        "Acme Corp",
        "Cannot log in after password reset",
        "Hi, I reset my password this morning and now the login page says my account is "
        "locked. I need to get into the billing portal today.",
        "high",
    ),
    (
        "demo-2",
        Channel.SMS,
        (ContactKind.PHONE, "+14155550123"),
        "Maria Lopez",
        "Acme Corp",
        "",
        "Still locked out of my account, can someone call me?",
        "high",
    ),
    (
        "demo-3",
        Channel.WEB,
        (ContactKind.EMAIL, "k.tanaka@example.org"),
        "Kenji Tanaka",
        "Globex",
        "VPN drops every 10 minutes",
        "Since the last client update our VPN connection drops every ten minutes on Windows 11. "
        "Logs attached in the next message.",
        "normal",
    ),
    (
        "demo-4",
        Channel.PHONE,
        (ContactKind.PHONE, "+442079460000"),
        "Sam Okafor",
        "",
        "Invoice shows the wrong VAT number",
        "Caller says invoice INV-2291 shows last year's VAT number and needs a corrected copy.",
        "low",
    ),
    (
        "demo-5",
        Channel.EMAIL,
        (ContactKind.EMAIL, "it@initech.example"),
        "Initech IT",
        "Initech",
        "API returns 500 on bulk export",
        "Our nightly export job calls /v2/export with 50k rows and gets HTTP 500 since Tuesday. "
        "Smaller exports work.",
        "urgent",
    ),
    (
        "demo-6",
        Channel.CHAT,
        (ContactKind.EMAIL, "lea.martin@example.net"),
        "Léa Martin",
        "",
        "How do I add a second user?",
        "Bonjour! How can I add my colleague to our workspace?",
        "normal",
    ),
    (
        "demo-7",
        Channel.API,
        (ContactKind.EMAIL, "ops@globex.example"),
        "Globex Ops",
        "Globex",
        "Installer fails on Ubuntu 24.04",
        "The .deb installer exits with 'dependency libssl1.1 not satisfiable'.",
        "normal",
    ),
]


MACROS = [
    (
        "Ask for logs",
        "Hello {{ customer.first_name }},\n\nThank you for reporting this. To find the cause, "
        "could you send us the application log (Help > Export logs) from the time it "
        "happened?\n\nBest regards,\n{{ agent.first_name }}",
        "pending_customer",
        None,
    ),
    (
        "Solved, closing",
        "Hello {{ customer.first_name }},\n\nGlad this is working again. I am marking "
        "{{ ticket.reference }} as resolved; just reply if anything comes back.\n\n"
        "Best regards,\n{{ agent.first_name }}",
        "resolved",
        None,
    ),
    (
        "Passing to our technical team",
        "Hello {{ customer.first_name }},\n\nI have passed {{ ticket.reference }} to our "
        "technical team, who will get back to you.\n\nBest regards,\n{{ agent.first_name }}",
        "",
        2,
    ),
]
DEMO_TAGS = {"demo-1": ["account"], "demo-3": ["vpn", "windows"], "demo-5": ["export", "bug"]}


DEMO_TRIGGER: dict[str, Any] = {
    "name": "Outages go to tier 2 as urgent",
    "description": "A new ticket whose subject speaks of an outage skips the queue.",
    "events": ["ticket.created"],
    "conditions": {"all": [{"field": "subject", "op": "contains", "value": "outage"}]},
    "actions": [
        {"type": "set_priority", "value": "urgent"},
        {"type": "add_tags", "value": ["outage"]},
        {"type": "set_tier", "value": 2, "note": "Reported outage: check the status page."},
    ],
}
_WAITING = {"all": [{"field": "status", "op": "is", "value": "pending_customer"}]}
DEMO_AUTOMATIONS: list[dict[str, Any]] = [
    {
        "name": "Remind the customer after 3 business days",
        "since": "status_changed", "hours": 24, "business_hours": True,
        "conditions": _WAITING,
        "actions": [{"type": "message_customer", "value": (
            "Hello {{ customer.first_name }}, we are waiting for your answer on "
            "{{ ticket.reference }}. Is it still a problem?")}],
    },
    {
        "name": "Resolve after 7 days without an answer",
        "since": "status_changed", "hours": 168, "conditions": _WAITING,
        "actions": [{"type": "add_note", "value": "No answer from the customer in 7 days."},
                    {"type": "set_status", "value": "resolved"}],
    },
    {
        "name": "Unassigned in tier 2 for 4 hours: tell the leads",
        "since": "tier_entered", "hours": 4,
        "conditions": {"all": [{"field": "tier", "op": "is", "value": 2},
                               {"field": "assignee", "op": "is_empty"}]},
        "actions": [{"type": "notify", "to": ["leads"],
                     "value": "{{ ticket.reference }} has waited 4 hours in tier 2"}],
    },
]  # fmt: skip


class Command(BaseCommand):
    help = "Load demo users, customers and tickets (safe to run again; refuses when DEBUG is off)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Load even with DEBUG off (never in production)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Demo data has well-known passwords; run with DEBUG=1 or pass --force."
            )
        with transaction.atomic():
            self._service_levels()
            users = self._users()
            self._brand()
            created = self._tickets(users)
            self._macros()
            self._rules()
            articles = load_demo_knowledge_base(actor=users["admin"])
            history = load_history(users)
            # After the articles (products are tied to some); its burst makes a spike.
            burst = load_catalog_and_burst()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(users)} staff users, {created} new ticket(s), "
                f"{articles} new knowledge-base article(s), {history} ticket(s) of history "
                f"for the reports, {burst} ticket(s) of a burst alike (a spike to make a "
                "problem of)."
            )
        )

    def _service_levels(self) -> None:
        """Office hours, a standard and an urgent SLA, and automatic assignment in tier 1."""
        office, created = BusinessCalendar.objects.get_or_create(
            name="Office hours (London)",
            defaults={"time_zone": "Europe/London", "holiday_country": "GB"},
        )
        if created:
            for weekday in range(5):
                OpeningHours.objects.create(
                    calendar=office, weekday=weekday, start=time(8), end=time(18)
                )
        SLAPolicy.objects.get_or_create(
            name="Urgent, around the clock",
            defaults={
                "position": 10,
                "priorities": ["urgent"],
                "first_response_minutes": 30,
                "next_response_minutes": 60,
                "resolution_minutes": 480,
                "warning_actions": ["notify_assignee"],
                "breach_actions": ["notify_tier", "escalate"],
            },
        )
        SLAPolicy.objects.get_or_create(
            name="Standard",
            defaults={
                "is_default": True,
                "position": 100,
                "first_response_minutes": 240,
                "next_response_minutes": 480,
                "resolution_minutes": 2400,
                "calendar": office,
                "warning_actions": ["notify_assignee"],
                "breach_actions": ["notify_tier", "raise_priority"],
            },
        )
        Tier.objects.filter(level=1).update(assignment_mode="round_robin")

    def _brand(self) -> None:
        """Acme Support's name, colours and logo (static/brand/acme-*.png), unless an admin
        set a brand already."""
        from tickets.branding.services import BrandInput, brand_update
        from tickets.models import Brand

        if Brand.objects.exclude(company_name="").exists():
            return
        images = Path(settings.BASE_DIR) / "static" / "brand"
        brand_update(
            data=BrandInput(
                company_name="Acme Support",
                primary_color="#b43c0b",
                accent_color="#f59e0b",
                footer_text="Acme Ltd, 1 Demo Street, London. We answer on weekdays, 8:00-18:00.",
                logo=(images / "acme-logo.png").read_bytes(),
                favicon=(images / "acme-favicon.png").read_bytes(),
            ),
            actor=None,
        )
        # Signatures for the agents' replies (My settings).
        for profile in AgentProfile.objects.select_related("user").filter(signature=""):
            name = profile.user.first_name or profile.user.username
            profile.signature = f"{name}\nAcme Support"
            profile.sms_signature = f"-{name}, Acme"
            profile.save(update_fields=["signature", "sms_signature"])

    def _users(self) -> dict[str, Any]:
        User = get_user_model()
        agents_group = Group.objects.get(name=AGENTS_GROUP)
        admins_group = Group.objects.get(name=ADMINS_GROUP)
        tiers = {tier.level: tier for tier in Tier.objects.all()}
        users: dict[str, Any] = {}
        username, first, last = ADMIN
        admin, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
        admin.is_staff = admin.is_superuser = True
        admin.save()
        admin.groups.add(admins_group)
        users[username] = admin
        for username, first, last, levels in AGENTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "is_staff": True,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(agents_group)
            if username in LEADS:
                user.groups.add(Group.objects.get(name=LEADS_GROUP))
            profile, _ = AgentProfile.objects.get_or_create(user=user)
            profile.tiers.add(*(tiers[level] for level in levels))
            users[username] = user
        return users

    def _tickets(self, users: dict[str, Any]) -> int:
        created = 0
        for external_id, channel, (kind, contact), name, org, subject, text, priority in TICKETS:
            result = services.ticket_open(
                inbound=InboundMessage(
                    channel=Channel(channel),
                    sender_kind=ContactKind(kind),
                    sender=contact,
                    sender_name=name,
                    subject=subject,
                    text=text,
                    external_id=external_id,
                ),
                priority=priority,
                tier_level=1,
            )
            if result.outcome != IngestOutcome.NEW:
                continue
            created += 1
            if org:
                organization, _ = Organization.objects.get_or_create(name=org)
                if org in DOMAINS:  # its next new customers join it (the organization page)
                    OrganizationDomain.objects.get_or_create(
                        domain=DOMAINS[org], defaults={"organization": organization}
                    )
                services.customer_set_organization(
                    customer=result.ticket.customer, organization=organization
                )
            self._work(result.ticket, external_id, users)
        return created

    def _macros(self) -> None:
        """Canned responses agents use every day."""
        for name, body, status, tier_level in MACROS:
            Macro.objects.get_or_create(
                name=name,
                defaults={
                    "body": body,
                    "set_status": status,
                    "set_tier": Tier.objects.filter(level=tier_level).first()
                    if tier_level
                    else None,
                },
            )

    def _rules(self) -> None:
        """A trigger that acts on new tickets, and the usual automations, switched off (on,
        they would act at once on the demo history's old tickets)."""
        if not Trigger.objects.filter(name=DEMO_TRIGGER["name"]).exists():
            manage.trigger_save(trigger=None, actor=None, **DEMO_TRIGGER)
        for example in DEMO_AUTOMATIONS:
            if not Automation.objects.filter(name=example["name"]).exists():
                manage.automation_save(automation=None, actor=None, active=False, **example)

    def _work(self, ticket: Any, external_id: str, users: dict[str, Any]) -> None:
        """Give some demo tickets a history, through the same services agents use."""
        alice, carol, erin = users["alice"], users["carol"], users["erin"]
        if external_id in DEMO_TAGS:
            services.ticket_set_tags(ticket=ticket, names=DEMO_TAGS[external_id], actor=None)
        if external_id == "demo-1":
            services.ticket_assign(ticket=ticket, assignee=alice, actor=alice)
            services.ticket_reply(
                ticket=ticket,
                actor=alice,
                text="Sorry about that, Maria. I have unlocked the account; please try again "
                "and let me know if it works.",
                status="pending_customer",
            )
        elif external_id == "demo-3":
            services.ticket_assign(ticket=ticket, assignee=carol, actor=carol)
            services.ticket_add_note(
                ticket=ticket, actor=carol, text="Same symptom as the 4.2 keep-alive regression?"
            )
            services.ticket_escalate(
                ticket=ticket,
                actor=carol,
                reason="Client networking defect suspected",
                handoff_note="Reproduced on Windows 11 with client 4.2.1; 4.1 is fine. "
                "Customer has sent logs; no workaround yet.",
            )
        elif external_id == "demo-5":
            services.ticket_escalate(
                ticket=ticket,
                actor=alice,
                tier_level=3,
                reason="Server error in the export service",
                handoff_note="HTTP 500 for exports above ~40k rows since Tuesday's deploy; "
                "smaller exports work. Customer's job runs nightly at 02:00 UTC.",
            )
            services.ticket_assign(ticket=ticket, assignee=erin, actor=erin)
        elif external_id == "demo-7":
            services.ticket_reply(
                ticket=ticket,
                actor=alice,
                text="Version 5.0.3 of the installer depends on libssl3; it is on the "
                "downloads page now.",
                status="resolved",
            )
