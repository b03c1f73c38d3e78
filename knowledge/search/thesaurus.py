"""The synonym groups admins manage, kept per process as a Thesaurus.

A change to the synonyms moves the kept thesaurus on in every process and indexes every
article again (a task, after commit): an article's group terms come from its text.
"""

from typing import Any

from django.db import transaction

from helpdesk.kept import KeptPerProcess
from knowledge.models import Synonym
from knowledge.search.analysis import Thesaurus


def _read() -> Thesaurus:
    return Thesaurus.build(synonym.word_list for synonym in Synonym.objects.all())


_kept = KeptPerProcess("kb-thesaurus", _read, max_seconds=60)


def current() -> Thesaurus:
    return _kept.current()


def synonyms_changed(**kwargs: Any) -> None:
    """A signal receiver for Synonym saves and deletes."""
    from knowledge.tasks import reindex_articles

    _kept.changed(**kwargs)
    transaction.on_commit(reindex_articles.delay, robust=True)
