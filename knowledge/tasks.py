"""Background work of the knowledge base."""

from celery import shared_task

from knowledge.search.index import reindex_all


@shared_task(name="knowledge.reindex_articles", acks_late=True)
def reindex_articles() -> int:
    """Index every article again: the synonyms changed. Idempotent; a repeat costs time only."""
    return reindex_all()
