"""Telling whoever asked ("tell me when it's fixed") that a known issue is fixed: once each.

Once a problem is solved (tickets.problems.solving), each subscriber of its known issue not
told yet is claimed (notified_at set, so a second run or a second worker passes them by)
and told: by email here, by text through the channels' SMS task
(settings.HELPDESK_SMS_NOTICE_TASK: tickets does not import channels_ingest). A failed send
is written in notify_error; unless the address refused us for good, the claim is given
back, so the next run (answer_linked again) tries once more. Nothing here runs inside a
transaction: every send goes over the network.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from tickets.branding.mail import branded_email
from tickets.models import (
    ContactKind,
    KnownIssue,
    KnownIssueSubscriber,
    Problem,
    ProblemStatus,
)
from tickets.services import undeliverable
from tickets.services.notices import customer_language

logger = logging.getLogger(__name__)

# A text carries at most this much of the explanation (the status page has all of it).
SMS_EXPLANATION_CHARS = 300


@dataclass(frozen=True)
class Told:
    emailed: int
    texts_queued: int
    failed: int


@dataclass(frozen=True)
class FixedNotice:
    """What one subscriber is sent, and where."""

    subscriber_id: int
    to: str
    subject: str
    text: str


def tell_subscribers(problem: Problem, *, now: datetime | None = None) -> Told:
    """Tell each subscriber of the solved problem's known issue, not told yet, that it is
    fixed: emails now, texts queued. Run again, it tells nobody twice."""
    if problem.status != ProblemStatus.SOLVED:
        return Told(0, 0, 0)
    waiting = list(
        KnownIssueSubscriber.objects.filter(known_issue__problem=problem, notified_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "kind")
    )
    emailed = queued = failed = 0
    for subscriber_id, kind in waiting:
        if kind == ContactKind.PHONE:
            _queue_text(subscriber_id)
            queued += 1
            continue
        sent = _email(subscriber_id, now or timezone.now())
        if sent is not None:
            emailed, failed = emailed + sent, failed + (not sent)
    return Told(emailed, queued, failed)


def claim(subscriber_id: int, *, kind: str, now: datetime | None = None) -> FixedNotice | None:
    """Take the subscriber to tell (of a solved problem, not told yet, by `kind`): what to
    send them; None when there is nobody to tell (told already, or by another run)."""
    claimed = KnownIssueSubscriber.objects.filter(
        pk=subscriber_id,
        kind=kind,
        notified_at__isnull=True,
        known_issue__problem__status=ProblemStatus.SOLVED,
    ).update(notified_at=now or timezone.now(), notify_error="")
    if not claimed:
        return None
    subscriber = KnownIssueSubscriber.objects.select_related(
        "known_issue__problem", "customer"
    ).get(pk=subscriber_id)
    issue = subscriber.known_issue
    with translation.override(customer_language(subscriber.customer)):
        return FixedNotice(
            subscriber_id=subscriber.pk,
            to=subscriber.address,
            subject=gettext("Fixed: %(title)s") % {"title": issue.title},
            text=fixed_text(issue, short=kind == ContactKind.PHONE),
        )


def not_told(subscriber_id: int, reason: str, *, again: bool) -> None:
    """A send failed: say why; `again`: give the claim back, so the next run tries."""
    changes: dict[str, object] = {"notify_error": reason[:1000] or "Not sent."}
    if again:
        changes["notified_at"] = None
    KnownIssueSubscriber.objects.filter(pk=subscriber_id).update(**changes)


def fixed_text(issue: KnownIssue, *, short: bool = False) -> str:
    """The message: the issue is fixed, with what the problem's public explanation says
    (or the known issue's summary)."""
    problem = issue.problem
    explanation = (problem.public_explanation or issue.summary).strip()
    status = f"{settings.PUBLIC_BASE_URL}{reverse('status')}"
    if short:
        if len(explanation) > SMS_EXPLANATION_CHARS:
            explanation = explanation[: SMS_EXPLANATION_CHARS - 1].rsplit(" ", 1)[0] + "…"
        return gettext("Fixed: %(title)s. %(explanation)s Status: %(link)s") % {
            "title": issue.title,
            "explanation": explanation,
            "link": status,
        }
    return gettext(
        "Hello,\n\nYou asked us to tell you when this was fixed: %(title)s.\n\n"
        "It is fixed now. %(explanation)s\n\n"
        "The status of our services: %(link)s\n\n"
        "We will not write to you about it again.\n"
    ) % {"title": issue.title, "explanation": explanation, "link": status}


def _email(subscriber_id: int, now: datetime) -> bool | None:
    """Email one subscriber; whether it went (None: nobody to tell)."""
    notice = claim(subscriber_id, kind=ContactKind.EMAIL, now=now)
    if notice is None:
        return None
    flagged = undeliverable.flagged_address(notice.to)
    if flagged is not None:  # it bounced, or its owner marked our mail as spam
        not_told(subscriber_id, undeliverable.held_reason(flagged), again=False)
        return False
    message = branded_email(
        subject=notice.subject,
        text=notice.text,
        to=[notice.to],
        fallback_address=settings.HELPDESK_SUPPORT_ADDRESS,
        # RFC 3834: an automatic message; autoresponders should not answer it.
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        not_told(subscriber_id, f"The recipient was refused: {error}", again=False)
        logger.info("known-issue subscriber %s: address refused", subscriber_id)
        return False
    except Exception as error:  # the mail server or provider: the next run tries again
        not_told(subscriber_id, f"Not sent: {type(error).__name__}: {error}", again=True)
        logger.warning("known-issue subscriber %s not emailed", subscriber_id, exc_info=True)
        return False
    return True


def _queue_text(subscriber_id: int) -> None:
    """Queue the text once what is being written commits (the task claims the subscriber;
    if it cannot be queued, they stay waiting for the next run)."""

    def enqueue() -> None:
        try:
            import_string(settings.HELPDESK_SMS_NOTICE_TASK).delay(subscriber_id)
        except Exception:
            logger.exception("could not queue the text to known-issue subscriber %s", subscriber_id)

    transaction.on_commit(enqueue)
