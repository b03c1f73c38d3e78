"""Customer-phrased questions (tests/kb_eval/eval_set.json) asked at every door.

The held-back half is never tuned on. Issue 21's target is the right article in the top 3
for 90% of its questions at every door, and at most 5% of off-topic questions answered
with confidence. Measured on the held-back set written independently on 2026-12-05
(docs/benchmarks.md): the listing doors reach it, and off-topic questions are answered 4%
of the time; the doors that answer unasked (the form, tier 0 by email and SMS, the chat)
show the right article for 83% of questions, so that floor holds that level until the
target is met.
The same runs on SQLite (test_on_sqlite.py) as on PostgreSQL.
"""

import pytest
from django.conf import settings
from django.db import connection

from tests.kb_eval.conftest import off_topic, questions
from tests.kb_eval.doors import Doors
from tests.kb_eval.scoring import score

pytestmark = pytest.mark.django_db

TARGET_TOP3 = 0.90
# The doors that answer unasked, until the target is reached (issue 21, open).
MIN_TOP3_ANSWERING = 0.83
MAX_OFF_TOPIC_CONFIDENT = 0.05
# Doors that list what matches (a person scans them); the others put answers forward
# unasked, so any answer they give is a confident one.
LISTING_DOORS = {"help_center", "api", "agent"}


def min_top3(door: str) -> float:
    return TARGET_TOP3 if door in LISTING_DOORS else MIN_TOP3_ANSWERING


def _confident(doors: Doors, door: str, query: str) -> bool:
    if door in LISTING_DOORS:
        confidences = doors.api_confidences(query)
        return bool(confidences) and confidences[0] >= settings.HELPDESK_TIER0_CONFIDENCE
    return bool(getattr(doors, door)(query))


@pytest.mark.parametrize("door", ["help_center", "api", "form", "email", "sms", "agent"])
def test_questions_find_their_article_at_every_door(doors: Doors, door: str) -> None:
    ask = getattr(doors, door)
    answers = [(q["query"], q["article"], ask(q["query"])) for q in questions()]
    confident = [_confident(doors, door, q["query"]) for q in off_topic()]

    result = score(door, connection.vendor, answers, confident)

    assert result.top3 >= min_top3(door), "\n".join(result.misses)
    assert result.off_topic_confident <= MAX_OFF_TOPIC_CONFIDENT
