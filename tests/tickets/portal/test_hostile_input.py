"""The portal's doors under odd input a visitor can send: never a server error, the usual
answer instead, and nothing of another customer."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed",
    ["a" * 5000, "ann@" + "b" * 300 + ".example.com"],
    ids=["long-username", "long-address"],
)
def test_a_very_long_account_name_is_a_wrong_sign_in_not_a_server_error(typed):
    # Django's sign-in form does not hold the username to a length; the failed attempt is
    # still counted against the lockout (under the name as far as it can be kept).
    response = Client().post("/support/login/password/", {"username": typed, "password": "x"})
    assert response.status_code == 200
    assert "correct" in response.text
    assert typed[:100] in response.text  # what they typed is still in the form
    attempt = AccessAttempt.objects.get()
    assert typed.startswith(attempt.username) and len(attempt.username) == 255
