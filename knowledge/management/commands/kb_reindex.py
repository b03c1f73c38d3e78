"""Build the knowledge base's search index anew (after KNOWLEDGE_SEARCH_CONFIG changed)."""

from typing import Any

from django.core.management.base import BaseCommand

from knowledge.search.index import reindex_all


class Command(BaseCommand):
    help = "Index every knowledge-base article again for search."

    def handle(self, *args: Any, **options: Any) -> None:
        count = reindex_all()
        self.stdout.write(f"Indexed {count} article(s).")
