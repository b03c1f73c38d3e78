"""Celery tasks of the channels: a few lines each, calling the pipeline or a sender."""

import logging

from celery import Task, shared_task
from celery.signals import worker_ready
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext

from channels_ingest import delivery, pipeline
from channels_ingest import outbox as outboxes
from channels_ingest.email import imap
from channels_ingest.errors import DeliveryError
from channels_ingest.models import Mailbox
from channels_ingest.sms import media
from channels_ingest.sms.send import send_text
from helpdesk.faults import is_transient
from helpdesk.languages import default_language
from tickets import services
from tickets.collab import services as collab
from tickets.models import ContactKind
from tickets.problems import telling
from tickets.services.verification import verification_notice

logger = logging.getLogger(__name__)


@shared_task(
    name="channels_ingest.process_inbound",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def process_inbound(item_id: int) -> int:
    """A wake-up, queued when an item is stored and none is queued already: processes the
    items waiting longest (a batch under load, the item itself at rest); returns how many
    it took."""
    pipeline.woken()
    return pipeline.process_waiting()


@shared_task(
    name="channels_ingest.process_inbound_batch",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def process_inbound_batch(item_ids: list[int]) -> int:
    """Many stored items together (a mailbox poll, the sweep); returns how many it took."""
    return len(pipeline.process_many(item_ids))


@shared_task(name="channels_ingest.sweep_inbound")
def sweep_inbound() -> int:
    """Beat, on the `recovery` queue: process what stayed unprocessed too long."""
    return pipeline.sweep()


@worker_ready.connect
def sweep_when_a_worker_starts(**_: object) -> None:
    """A worker starting may replace one that died holding items (its tasks are not
    redelivered before the broker's visibility timeout): sweep now, not at the next beat."""
    try:
        sweep_inbound.delay()
    except Exception:
        logger.warning("could not queue the inbound sweep at start; beat will", exc_info=True)


@shared_task(name="channels_ingest.deliver_message", bind=True, max_retries=8)
def deliver_message(self: Task, message_id: int) -> None:
    """Send one pending outbound message; transient failures retry with backoff.

    A provider that keeps failing marks the message failed in the end, and so does an
    error of ours that is no outage (its file gone from storage, a bug): shown on the
    message, not queued again by the sweep for ever. An outage of our own (database,
    cache) or settings an admin must fix never do: after the last retry the message stays
    pending and the outbound sweep queues it again."""
    try:
        delivery.deliver(message_id)
    except DeliveryError as error:
        if error.permanent or _retries_left(self) == 0:
            services.message_mark_failed(message_id=message_id, reason=error.reason)
            return
        raise self.retry(countdown=_waiting(self, message_id)) from error
    except ImproperlyConfigured as error:  # an admin's to fix: the message waits for them
        logger.error("message %s waits for the settings to be fixed: %s", message_id, error)
        if _retries_left(self) == 0:
            return  # pending: the outbound sweep queues it again
        raise self.retry(countdown=_waiting(self, message_id), exc=error) from error
    except Exception as error:
        if not is_transient(error):
            logger.exception("message %s not sent: an error of ours", message_id)
            if _retries_left(self) == 0:
                services.message_mark_failed(message_id=message_id, reason=_ours(error))
                return
        elif _retries_left(self) == 0:
            logger.warning("message %s left pending for the outbound sweep: %s", message_id, error)
            return
        raise self.retry(countdown=_waiting(self, message_id), exc=error) from error


def _ours(error: Exception) -> str:
    """Why a message was not sent, kept on it in the desk's language (as a provider's
    reasons are kept as they came); the error's kind only: its text may quote a customer."""
    with translation.override(default_language()):
        return gettext("Not sent: an error on our side (%(error)s).") % {
            "error": type(error).__name__
        }


def _waiting(task: Task, message_id: int) -> int:
    """The backoff of a message's next try; the outbound sweep leaves it to that try."""
    countdown = _backoff(task)
    delivery.expect_attempt([message_id], within=countdown)
    return countdown


@shared_task(name="channels_ingest.deliver_side_message", bind=True, max_retries=8)
def deliver_side_message(self: Task, side_message_id: int) -> None:
    """Send one pending message of a side conversation; as deliver_message."""
    try:
        delivery.deliver_side(side_message_id)
    except DeliveryError as error:
        if error.permanent or _retries_left(self) == 0:
            collab.side_message_mark_failed(message_id=side_message_id, reason=error.reason)
            return
        raise self.retry(countdown=_backoff(self)) from error
    except Exception as error:
        if not is_transient(error) or _retries_left(self) == 0:
            raise
        raise self.retry(countdown=_backoff(self), exc=error) from error


@shared_task(name="channels_ingest.deliver_messages")
def deliver_messages(message_ids: list[int]) -> int:
    """Send many pending messages in one task (the notices of a batch of new tickets), read
    and recorded together. One that cannot be sent now is handed to deliver_message, which
    retries it alone with backoff (and, if even that cannot be queued, the outbound sweep
    finds it pending). Returns how many were handed on."""
    handed_on = 0
    with outboxes.opened() as outbox:  # one mail session, one SMS client for the batch
        failed = delivery.deliver_many(message_ids, outbox)
    for message_id, error in failed.items():
        if isinstance(error, DeliveryError) and error.permanent:
            services.message_mark_failed(message_id=message_id, reason=error.reason)
            continue
        handed_on += _deliver_alone_later(message_id, error)
    return handed_on


# When a message a batch could not send now is tried alone.
_ALONE_AFTER = 30


def _deliver_alone_later(message_id: int, error: Exception) -> int:
    logger.warning("message %s handed to its own delivery task: %s", message_id, error)
    try:
        deliver_message.apply_async((message_id,), countdown=_ALONE_AFTER)
    except Exception:
        logger.warning("message %s left pending for the outbound sweep", message_id)
        return 0
    delivery.expect_attempt([message_id], within=_ALONE_AFTER)
    return 1


def _retries_left(task: Task) -> int:
    return max(0, (task.max_retries or 0) - task.request.retries)


def _backoff(task: Task) -> int:
    return int(min(600, 30 * 2**task.request.retries))


@shared_task(name="channels_ingest.send_sms_notice", bind=True, max_retries=5)
def send_sms_notice(self: Task, subscriber_id: int) -> bool:
    """Text someone who asked to be told that a known issue is fixed; whether it went. A
    repeated run finds them told and sends nothing; a provider failing for now retries
    with backoff, then leaves them for the next run of the problem's answering."""
    notice = telling.claim(subscriber_id, kind=ContactKind.PHONE)
    if notice is None:
        return False
    try:
        send_text(notice.to, notice.text)
    except DeliveryError as error:
        again = not error.permanent
        telling.not_told(subscriber_id, error.reason, again=again)
        if again and _retries_left(self) > 0:
            raise self.retry(countdown=_backoff(self)) from error
        return False
    except Exception as error:
        telling.not_told(subscriber_id, f"Not sent: {type(error).__name__}", again=True)
        if is_transient(error) and _retries_left(self) > 0:
            raise self.retry(countdown=_backoff(self), exc=error) from error
        raise
    return True


@shared_task(name="channels_ingest.send_sms_verification", bind=True, max_retries=5)
def send_sms_verification(self: Task, contact_id: int) -> bool:
    """Text a customer the link that confirms their number; whether it went. A provider
    failing for now retries with backoff; a refused number is logged and left unverified."""
    notice = verification_notice(contact_id, short=True)
    if notice is None:
        return False
    try:
        send_text(notice.to, notice.text)
    except DeliveryError as error:
        if not error.permanent and _retries_left(self) > 0:
            raise self.retry(countdown=_backoff(self)) from error
        logger.info("contact %s: verification text not sent: %s", contact_id, error.reason)
        return False
    except Exception as error:
        if is_transient(error) and _retries_left(self) > 0:
            raise self.retry(countdown=_backoff(self), exc=error) from error
        raise
    return True


@shared_task(name="channels_ingest.fetch_sms_media", bind=True, max_retries=8)
def fetch_sms_media(self: Task, item_id: int) -> int:
    """Keep an MMS's media as files of its message, once it is processed; how many were
    kept. Twilio failing for now, or the text not processed yet, retries with backoff; after
    the last retry the links in the text are what is kept."""
    try:
        kept = media.fetch_media_of(item_id)
    except media.MediaNotYet as error:
        if _retries_left(self) == 0:
            logger.warning("inbound item %s: media not fetched, links kept: %s", item_id, error)
            return 0
        raise self.retry(countdown=_backoff(self)) from error
    except Exception as error:
        if not is_transient(error) or _retries_left(self) == 0:
            raise
        raise self.retry(countdown=_backoff(self), exc=error) from error
    if kept is None:  # the text is still waiting to be processed
        if _retries_left(self) == 0:
            return 0
        raise self.retry(countdown=_backoff(self))
    return kept


@shared_task(name="channels_ingest.sweep_outbound")
def sweep_outbound() -> int:
    """Re-queue replies still pending long after they were written (e.g. the broker was down)."""
    stale = delivery.stale_pending()
    for message_id in stale:
        deliver_message.delay(message_id)
    delivery.expect_attempt(stale, within=0)
    side = delivery.stale_side_pending()
    for side_message_id in side:
        deliver_side_message.delay(side_message_id)
    return len(stale) + len(side)


@shared_task(name="channels_ingest.poll_mailboxes")
def poll_mailboxes() -> int:
    """Beat: one task per enabled mailbox, so an unreachable one never holds up the others."""
    mailbox_ids = list(Mailbox.objects.filter(enabled=True).values_list("pk", flat=True))
    for mailbox_id in mailbox_ids:
        poll_mailbox.delay(mailbox_id)
    return len(mailbox_ids)


@shared_task(name="channels_ingest.poll_mailbox")
def poll_mailbox(mailbox_id: int) -> None:
    """Import a mailbox's unseen mail. A server that is down or refuses us is recorded on the
    mailbox and waits for the next beat: no retry storm."""
    with imap.poll_lock(mailbox_id) as acquired:
        mailbox = Mailbox.objects.filter(pk=mailbox_id, enabled=True).first()
        if not acquired or mailbox is None:
            return  # another worker is polling it, or it was disabled or deleted
        try:
            imap.mailbox_poll(mailbox=mailbox)
        except imap.MailboxUnavailable as error:
            logger.warning("mailbox %s could not be polled: %s", mailbox.name, error)
