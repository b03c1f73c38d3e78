"""A long message (greeting, backstory, the question, a signature) still lists the article
that answers it where people scan: the listing floor falls with the length
(knowledge.selectors.coverage_floor). From the long emails of the tuning half."""

import pytest

from knowledge.selectors import coverage_floor
from tests.kb_eval.doors import Doors

pytestmark = pytest.mark.django_db

# From the tuning half's long emails (tests/kb_eval/eval_set.json, kind long_email).
BILLING_DATES = (
    "Hello,\n\nOur finance controller is asking me when exactly you bill us. We're on the "
    "yearly subscription but she's convinced we get charged on random dates. There's also a "
    "negative amount labelled as a credit on the latest one and neither of us knows where it "
    "came from. I need to explain every line to her before Friday's month-end close, so a "
    "quick breakdown of what each row means would be great.\n\nBest regards,\nTom Harrigan"
)


def test_an_agent_sees_the_answer_to_a_long_email(doors: Doors) -> None:
    # It holds 13% of what the email says: under the 20% a short question needs.
    assert "understanding-your-invoice" in doors.agent(BILLING_DATES)[:3]


def test_the_floor_falls_only_for_long_texts(settings) -> None:
    settings.KNOWLEDGE_MIN_COVERAGE = 0.2
    assert coverage_floor("locked out after too many password attempts") == 0.2
    assert coverage_floor(BILLING_DATES) < 0.2
    assert coverage_floor(" ".join(["invoice refund currency"] * 40)) == pytest.approx(0.12)
