"""PostgreSQL only: pg_trgm, a GIN index on the search vector and a trigram index on titles.

On SQLite (the embedded default) these steps do nothing, so migrations still run there.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS kb_article_search_gin "
    "ON knowledge_article USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS kb_article_title_trgm "
    "ON knowledge_article USING gin (title gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS kb_article_title_trgm",
    "DROP INDEX IF EXISTS kb_article_search_gin",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
