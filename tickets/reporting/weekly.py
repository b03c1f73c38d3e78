"""The weekly summary mailed on Monday mornings to admins and leads who asked for it: the
past week's headline figures, with links to the reports, each mail in its reader's language
(tickets.services.notices.agent_languages)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from tickets.branding import current
from tickets.branding.mail import branded_email
from tickets.models import ReportSubscription
from tickets.reporting.overview import overview
from tickets.reporting.responsiveness import responsiveness
from tickets.reporting.satisfaction import satisfaction
from tickets.reporting.scope import Scope
from tickets.reporting.sla import sla_report
from tickets.reporting.tiers import tier_flow
from tickets.roles import reads_reports
from tickets.services.notices import agent_languages
from tickets.templatetags.reports import report_value

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Line:
    label: str | Promise  # in the reader's language
    shown: str


def last_week(now: datetime) -> Scope:
    """Monday to Sunday of the week before `now`'s, in the desk's time zone."""
    local = timezone.localtime(now)
    monday = local.date() - timedelta(days=local.weekday() + 7)
    start = datetime.combine(monday, time(), local.tzinfo)
    return Scope(since=start, until=start + timedelta(days=7), bucket="day")


def summary_lines(scope: Scope, now: datetime) -> list[Line]:
    seen = overview(scope, now)
    times = responsiveness(scope)
    sla = sla_report(scope, now)
    ratings = satisfaction(scope)
    flow = tier_flow(scope)
    return [
        Line(gettext_lazy("Tickets created"), report_value(seen.created, "count")),
        Line(gettext_lazy("Tickets solved"), report_value(seen.solved, "count")),
        Line(gettext_lazy("Backlog now"), report_value(seen.backlog_now, "count")),
        Line(gettext_lazy("Median first reply"), report_value(times.first_reply.median, "minutes")),
        Line(gettext_lazy("Median resolution"), report_value(times.resolution.median, "minutes")),
        Line(
            gettext_lazy("First-contact resolution"), report_value(times.first_contact_rate, "rate")
        ),
        Line(gettext_lazy("SLA attainment"), report_value(sla.total.rate, "rate")),
        Line(gettext_lazy("SLA breaches"), report_value(sla.total.breached, "count")),
        Line(gettext_lazy("CSAT"), report_value(ratings.total.csat, "rate")),
        Line(
            gettext_lazy("Escalations"), report_value(sum(t.escalated for t in flow.tiers), "count")
        ),
        Line(
            gettext_lazy("Answered by self-service"),
            report_value(flow.deflection.deflected, "count"),
        ),
    ]


def send_weekly_summaries(now: datetime) -> int:
    """Mail last week's summary to each subscriber not yet sent it; returns how many."""
    scope = last_week(now)
    week = scope.since.date()
    due = list(
        ReportSubscription.objects.exclude(last_sent_week=week)
        .exclude(user__email="")
        .filter(user__is_active=True)
        .select_related("user")
    )
    languages = agent_languages(subscription.user_id for subscription in due)
    lines: list[Line] | None = None
    sent = 0
    for subscription in due:
        if not reads_reports(subscription.user):
            continue  # no longer an admin or lead: the subscription waits, unused
        claimed = (
            ReportSubscription.objects.filter(pk=subscription.pk)
            .exclude(last_sent_week=week)
            .update(last_sent_week=week)
        )
        if not claimed:
            continue  # another run sent it
        lines = lines if lines is not None else summary_lines(scope, now)
        with translation.override(languages[subscription.user_id]):
            _mail(subscription.user.email, scope, week, lines)
        sent += 1
    return sent


def _mail(address: str, scope: Scope, week: date, lines: list[Line]) -> None:
    """The summary to one reader, in the language active (theirs)."""
    query = urlencode(scope.query())
    last_day = week + timedelta(days=6)
    context = {
        "first_day": formats.date_format(week, pgettext("weekly summary, first day", "l j F")),
        "last_day": formats.date_format(last_day, pgettext("weekly summary, last day", "l j F Y")),
        "lines": lines,
        "link": f"{settings.PUBLIC_BASE_URL}/agent/reports/overview/?{query}",
        "settings_link": f"{settings.PUBLIC_BASE_URL}/agent/reports/",
    }
    branded_email(
        subject=_("%(desk)s: the week of %(day)s")
        % {
            "desk": current().company_name or _("Help desk"),
            "day": formats.date_format(week, pgettext("weekly summary's subject", "j F Y")),
        },
        text=render_to_string("agent/reports/weekly.txt", context),
        html=render_to_string("agent/reports/weekly.html", context),
        to=[address],
    ).send()
