from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class KnowledgeConfig(AppConfig):
    """Publishes answers: the knowledge base behind tier-0 self-service."""

    name = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from knowledge.models import Synonym
        from knowledge.search import thesaurus

        post_save.connect(thesaurus.synonyms_changed, sender=Synonym, dispatch_uid="kb-syn")
        post_delete.connect(thesaurus.synonyms_changed, sender=Synonym, dispatch_uid="kb-syn-d")
        post_migrate.connect(_build_missing_index, sender=self, dispatch_uid="kb-index")


def _build_missing_index(using: str = "default", **_: Any) -> None:
    """After migrating: index the articles when nothing is indexed yet (a new index, or a
    desk that had articles before it existed)."""
    from knowledge.models import Article, ArticleStatus, ArticleTerm
    from knowledge.search.index import reindex_all

    published = Article.objects.using(using).filter(status=ArticleStatus.PUBLISHED)
    if published.exists() and not ArticleTerm.objects.using(using).exists():
        reindex_all()
