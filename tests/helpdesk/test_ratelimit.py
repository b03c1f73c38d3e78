"""The fixed-window counter behind the rate limits, on Redis as deployed."""

import time
import uuid

import pytest
from django.conf import settings as django_settings

from helpdesk.ratelimit import count_hit

pytestmark = pytest.mark.services


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.REDIS_URL,
        }
    }


def test_hits_count_within_a_window_and_start_again_after_it(redis_cache):
    key = f"test-ratelimit-{uuid.uuid4()}"
    assert [count_hit(key, window_seconds=1) for _ in range(3)] == [1, 2, 3]
    time.sleep(1.5)
    assert count_hit(key, window_seconds=1) == 1


def test_a_counter_left_without_an_expiry_gets_its_window(redis_cache):
    from django.core.cache import cache

    key = f"test-ratelimit-{uuid.uuid4()}"
    # What INCR leaves when the window ended just before it: a counter with no expiry.
    cache.set(key, 0, timeout=None)
    assert count_hit(key, window_seconds=1) == 1
    time.sleep(1.5)
    assert count_hit(key, window_seconds=1) == 1  # a new window, not the count going on
