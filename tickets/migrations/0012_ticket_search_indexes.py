"""PostgreSQL only: full-text indexes for the workspace's ticket search.

The indexed expressions are exactly what tickets.selectors builds
(to_tsvector(config, COALESCE(column, ''))), so the planner uses them. The text-search
configuration is the one set when migrating (TICKET_SEARCH_CONFIG); after changing it,
drop and re-create these two indexes. On SQLite this does nothing (the search there is a
plain substring match).
"""

from django.conf import settings
from django.db import migrations


def _statements(config: str) -> tuple[list[str], list[str]]:
    forward = [
        "CREATE INDEX IF NOT EXISTS ticket_subject_fts ON tickets_ticket USING gin "
        f"(to_tsvector('{config}'::regconfig, COALESCE(subject, '')))",
        "CREATE INDEX IF NOT EXISTS message_body_fts ON tickets_message USING gin "
        f"(to_tsvector('{config}'::regconfig, COALESCE(body_text, '')))",
    ]
    backward = [
        "DROP INDEX IF EXISTS message_body_fts",
        "DROP INDEX IF EXISTS ticket_subject_fts",
    ]
    return forward, backward


def _run(direction: int):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        config = settings.TICKET_SEARCH_CONFIG
        if not config.replace("_", "").isalnum():
            raise ValueError(f"Not a text-search configuration name: {config!r}")
        for statement in _statements(config)[direction]:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0011_workspace")]

    operations = [migrations.RunPython(_run(0), _run(1))]
