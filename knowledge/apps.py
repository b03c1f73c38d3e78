from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    """Publishes answers: the knowledge base behind tier-0 self-service."""

    name = "knowledge"
    verbose_name = "Knowledge base"
