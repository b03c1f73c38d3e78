"""Outage or the work's own failure: errors raised by the real servers, classified."""

import psycopg
import pytest
import redis
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connection, transaction

from helpdesk.faults import is_transient
from tests.outages import free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def database_error(sql: str) -> DatabaseError:
    with pytest.raises(DatabaseError) as raised, transaction.atomic(), connection.cursor() as c:
        c.execute(sql)
    return raised.value


@pytest.mark.parametrize(
    ("sql", "outage"),
    [
        ("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)", True),
        ("INSERT INTO tickets_tier SELECT * FROM tickets_tier LIMIT 1", True),
        # A text the search index cannot take: it repeats on every try.
        ("SELECT to_tsvector(string_agg(md5(i::text), ' ')) FROM generate_series(1, 80000) i",
         False),
        ("SELECT 'not a number'::int", False),
        ("INSERT INTO tickets_ticket (subject) VALUES ('no customer')", False),
    ],
    ids=["statement timeout", "unique key taken", "too long for the index", "bad value",
         "not null"],
)  # fmt: skip
def test_database_errors_by_what_they_say(sql, outage):
    assert is_transient(database_error(sql)) is outage


def test_a_server_that_cannot_be_reached_is_an_outage():
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect(host="127.0.0.1", port=free_port(), connect_timeout=2)
    assert is_transient(raised.value)
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", {})
    with pytest.raises(redis.exceptions.ConnectionError) as down:
        cache.get("anything")
    assert is_transient(down.value)


def test_a_bug_is_not_an_outage_even_when_raised_from_one():
    assert not is_transient(KeyError("x"))
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as cause:
            raise RuntimeError("wrapped") from cause
    except RuntimeError as error:
        assert is_transient(error)  # raised from an outage: still one
