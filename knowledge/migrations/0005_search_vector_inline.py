"""PostgreSQL only: keep the search vector in the article's row (storage MAIN).

An article's row (Markdown body, rendered HTML, vector) is larger than PostgreSQL's 2 kB
TOAST threshold, and an uncompressible vector of a few hundred words was moved out of the
row: every search fetched it from the TOAST table once to match and again to rank, about
three times slower than reading it in place (docs/benchmarks.md). With MAIN, the
bodies are moved out first and the vector stays in the row. The UPDATE rewrites the vectors
already stored (a new value is stored by the new rule; an unchanged one would not be).

On SQLite (the embedded default) these steps do nothing.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE knowledge_article ALTER COLUMN search_vector SET STORAGE MAIN",
    "UPDATE knowledge_article SET search_vector = search_vector || ''::tsvector "
    "WHERE search_vector IS NOT NULL",
]
BACKWARD = ["ALTER TABLE knowledge_article ALTER COLUMN search_vector SET STORAGE EXTENDED"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0004_deflection_metrics")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
