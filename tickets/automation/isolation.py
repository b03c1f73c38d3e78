"""One ticket's failure in a run of the rules kept to that ticket, triggers and automations
alike.

A run (the triggers' batch of events, the automations' minute) handles each ticket in a
savepoint of its own: an error of ours there (a bug, a stored value the rules cannot read)
undoes what the rules did to that ticket, is reported by the caller (logged with its
traceback, said on the ticket as "Rule could not act"), and the run goes on with the next
ticket. An outage (the database gone) says nothing about the ticket: it is raised on, for
the task's retry.
"""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from helpdesk.faults import is_transient

logger = logging.getLogger(__name__)

T = TypeVar("T")


def apart(work: Callable[[], T], *, report: Callable[[Exception], None]) -> T | None:
    """`work` on one ticket in a savepoint of its own; its result, or None when an error of
    ours undid it, after `report(error)` (called while the error is handled, so it can log
    the traceback; a failure to report is logged too, and the run still goes on)."""
    try:
        with transaction.atomic():
            return work()
    except Exception as error:
        if is_transient(error):
            raise
        try:
            report(error)
        except Exception as unsaid:
            if is_transient(unsaid):
                raise
            logger.exception("rules: could not record the failure on the ticket")
        return None


def unexpected(error: Exception) -> str:
    """What the ticket's history says of an unexpected error, in the default language as
    history is: the error's type only (its message can quote personal data)."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(
            "an unexpected error (%(error)s) stopped the rules on this ticket; the details "
            "are in the server log"
        ) % {"error": type(error).__name__}
