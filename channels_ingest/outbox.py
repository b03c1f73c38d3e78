"""The connections a batch of outbound messages shares: one session with the mail server
(an SMTP login, or an email provider's HTTP session through anymail) and one SMS provider
client, instead of one of each per message. Mail servers and providers limit how often a
sender may connect; a batch of a hundred notices makes one connection, not a hundred."""

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from channels_ingest.sms.backends import BaseSmsBackend, get_backend

logger = logging.getLogger(__name__)


@dataclass
class Outbox:
    mail: BaseEmailBackend
    _sms: BaseSmsBackend | None = field(default=None, repr=False)

    @property
    def sms(self) -> BaseSmsBackend:
        """Made for the batch's first text: a batch of email never needs the SMS settings."""
        if self._sms is None:
            self._sms = get_backend()
        return self._sms

    def reconnect_mail(self) -> None:
        """After a failed send: the next message goes out on a fresh session (a broken
        SMTP connection would fail every message after it)."""
        _close(self.mail)
        _open(self.mail)


@contextmanager
def opened() -> Iterator[Outbox]:
    """An outbox for one batch; its mail session is closed when the batch is done."""
    mail = get_connection()
    # A server that cannot be reached now: each message then tries on its own and fails
    # on its own, to be retried (channels_ingest.tasks).
    _open(mail)
    try:
        yield Outbox(mail=mail)
    finally:
        _close(mail)


def _open(mail: BaseEmailBackend) -> None:
    try:
        mail.open()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("mail server not reached for a batch: %s", error)


def _close(mail: BaseEmailBackend) -> None:
    try:
        mail.close()
    except (smtplib.SMTPException, OSError) as error:
        logger.info("mail session not closed cleanly: %s", error)
