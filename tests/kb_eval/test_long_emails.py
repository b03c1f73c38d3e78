"""A long message (greeting, backstory, the question, a sign-off) still finds the article
that answers it: the listing floor falls with the length (knowledge.selectors.
coverage_floor) and the sign-off block is left out of the search. From the long emails of
the tuning half."""

import pytest

from knowledge.search.analysis import without_sign_off
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


EXPIRED_LINK = (
    "Hello,\n\nI clicked the link in your email to set a new password but it just says the "
    "link has expired. I only got it yesterday evening! Do I have to start all over again? "
    "Also, what are the rules for the new password, because the form rejected the first one "
    "I chose and didn't really say why.\n\nRegards,\nAnna Lindgren"
)


def test_the_contact_form_answers_a_message_signed_off(doors: Doors) -> None:
    # The sign-off's name is no part of the question (the email pipeline trims it too).
    assert "reset-your-password" in doors.form(EXPIRED_LINK)[:3]


def test_only_the_sign_off_block_is_left_out() -> None:
    assert without_sign_off(EXPIRED_LINK).endswith("didn't really say why.\n")
    assert without_sign_off("Thanks for the quick fix!") == "Thanks for the quick fix!"
    assert without_sign_off("Best way to export?\nThanks") == "Best way to export?"
    # A closing far above the end is part of the message.
    long = "Thanks,\n" + "\n".join(f"line {n}" for n in range(10))
    assert without_sign_off(long) == long
