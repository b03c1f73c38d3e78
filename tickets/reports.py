"""The self-service report: how many requests the knowledge base answered before a human.

Deflection rate = requests answered by self-service / all requests, over a period, where
- answered by self-service: contact forms abandoned after "this solved my problem",
  tickets the customer resolved from the tier-0 answers, and "tell me when it's fixed"
  asked of a known issue instead of a ticket;
- all requests: every ticket opened, plus those abandoned contact forms and known-issue
  subscriptions (they would have been tickets).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from knowledge import reports as kb
from knowledge.models import Article
from tickets.models import EventKind, Ticket, TicketEvent
from tickets.problems import known_issues


@dataclass(frozen=True)
class SelfServiceReport:
    since: datetime
    until: datetime
    tickets_opened: int
    web_form_deflections: int
    tier0_offers: int
    tier0_deflections: int
    known_issue_subscriptions: int
    searches: kb.SearchStats
    failed_searches: list[kb.FailedSearch]
    most_read: list[Article]
    least_helpful: list[Article]

    @property
    def deflected(self) -> int:
        return self.web_form_deflections + self.tier0_deflections + self.known_issue_subscriptions

    @property
    def requests(self) -> int:
        return self.tickets_opened + self.web_form_deflections + self.known_issue_subscriptions

    @property
    def deflection_rate(self) -> float | None:
        return self.deflected / self.requests if self.requests else None

    @property
    def tier0_acceptance_rate(self) -> float | None:
        return self.tier0_deflections / self.tier0_offers if self.tier0_offers else None


def self_service_report(*, days: int, now: datetime) -> SelfServiceReport:
    since = now - timedelta(days=days)
    events = TicketEvent.objects.filter(
        created_at__gte=since,
        created_at__lt=now,
        kind__in=[EventKind.KB_SUGGESTED, EventKind.DEFLECTED],
    ).aggregate(
        offers=Count("id", filter=Q(kind=EventKind.KB_SUGGESTED)),
        deflections=Count("id", filter=Q(kind=EventKind.DEFLECTED)),
    )
    return SelfServiceReport(
        since=since,
        until=now,
        tickets_opened=Ticket.objects.filter(created_at__gte=since, created_at__lt=now).count(),
        web_form_deflections=kb.web_form_deflections(since=since, until=now),
        tier0_offers=events["offers"],
        tier0_deflections=events["deflections"],
        known_issue_subscriptions=known_issues.subscribed_between(since, now),
        searches=kb.search_stats(since=since, until=now),
        failed_searches=kb.failed_searches(since=since, until=now),
        most_read=kb.articles_by_readers(),
        least_helpful=kb.least_helpful_articles(),
    )
