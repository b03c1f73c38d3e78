"""A second factor for staff (django-allauth): set up an authenticator app, then sign in
with its code; recovery codes; and the setting that makes it mandatory."""

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
import time_machine
from django.test import Client

from tests.factories import PASSWORD, AdminFactory, AgentFactory

pytestmark = pytest.mark.django_db


def totp(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows (RFC 6238: HMAC-SHA1, 30 s, 6 digits)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def code_to_type(secret: str, *, seconds_left: float = 8) -> str:
    """The app's code as a person types it in a browser: with time to spare before the app
    shows the next one (a code read at the end of its half minute reaches the server in the
    next, where it is refused)."""
    left = 30 - time.time() % 30
    if left < seconds_left:
        time.sleep(left + 0.1)
    return totp(secret)


def password_step(username: str) -> Client:
    client = Client()
    client.post("/accounts/login/", {"login": username, "password": PASSWORD})
    return client


def enrol(username: str) -> tuple[str, list[str]]:
    """Set up an authenticator app as its owner does; the secret and the recovery codes."""
    client = password_step(username)
    asked = client.get("/accounts/2fa/totp/activate/")
    assert asked["Location"].startswith("/accounts/reauthenticate/")  # the password again
    client.post(asked["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/").text
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page) or re.search(
        r'value="([A-Z2-7]{32})"', page
    )
    assert secret, page
    done = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret.group(1))})
    assert done.status_code == 302, done.content
    codes = re.findall(r"\b\d{8}\b", client.get("/accounts/2fa/recovery-codes/").text)
    client.post("/accounts/logout/")
    return secret.group(1), codes


def next_code_window():
    """Half a minute on: the app shows a new code (a code is taken once)."""
    return time_machine.travel(time.time() + 31, tick=True)


def opens_the_workspace(client: Client) -> bool:
    page = client.get("/agent/", follow=True)
    return page.status_code == 200 and "My open tickets" in page.text


def test_with_an_authenticator_the_password_alone_does_not_sign_in():
    AgentFactory(username="agent1", tiers=[1])
    secret, _codes = enrol("agent1")

    with next_code_window():
        client = password_step("agent1")
        assert "_auth_user_id" not in client.session
        assert not opens_the_workspace(client)

        client.post("/accounts/2fa/authenticate/", {"code": "000000"})
        assert "_auth_user_id" not in client.session

        client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})
        assert "_auth_user_id" in client.session
        assert opens_the_workspace(client)


def test_a_recovery_code_signs_in_once():
    AgentFactory(username="agent1", tiers=[1])
    _secret, codes = enrol("agent1")
    assert len(codes) >= 10

    first = password_step("agent1")
    first.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert "_auth_user_id" in first.session

    again = password_step("agent1")
    again.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert "_auth_user_id" not in again.session


@pytest.mark.parametrize(
    ("required", "agent_must", "admin_must"),
    [("off", False, False), ("admins", False, True), ("staff", True, True)],
)
def test_who_must_set_one_up(settings, fresh_policy, required, agent_must, admin_must):
    settings.HELPDESK_MFA_REQUIRED = required
    AgentFactory(username="agent1", tiers=[1])
    AdminFactory(username="boss")

    for username, must in (("agent1", agent_must), ("boss", admin_must)):
        client = password_step(username)
        assert "_auth_user_id" in client.session  # no factor yet: the password signs in
        answer = client.get("/agent/")
        sent_to_set_up = answer.status_code == 302 and answer["Location"] == "/accounts/2fa/"
        assert sent_to_set_up == must, (username, answer.status_code, answer.get("Location"))


@pytest.fixture
def fresh_policy():
    """The sign-in policy is kept per process: read it again after a test that saved one."""
    from helpdesk.mfa import policy

    policy.forget()
    yield
    policy.forget()
    policy.current()  # read again now, not in the next test's counted queries


def test_admins_set_the_rule_in_the_admin(
    settings, fresh_policy, django_capture_on_commit_callbacks
):
    settings.HELPDESK_MFA_REQUIRED = "off"  # the starting value, until an admin saves one
    AgentFactory(username="agent1", tiers=[1])
    admin = Client()
    admin.force_login(AdminFactory(username="boss"))  # signed in before the policy
    assert password_step("agent1").get("/agent/")["Location"] != "/accounts/2fa/"

    with django_capture_on_commit_callbacks(execute=True):
        saved = admin.post("/admin/tickets/signinpolicy/add/", {"second_factor": "staff"})
    assert saved.status_code == 302, saved.content

    answer = password_step("agent1").get("/agent/")
    assert (answer.status_code, answer["Location"]) == (302, "/accounts/2fa/")
    # The admin who set it, with no second factor yet, is asked for one at the next sign-in.
    assert password_step("boss").get("/admin/")["Location"] == "/accounts/2fa/"


def test_once_set_up_the_required_factor_opens_the_desk(settings):
    settings.HELPDESK_MFA_REQUIRED = "staff"
    AgentFactory(username="agent1", tiers=[1])
    secret, _codes = enrol("agent1")

    with next_code_window():
        client = password_step("agent1")
        client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})

        assert opens_the_workspace(client)


def test_second_factor_changes_and_failures_are_in_the_security_log(
    django_capture_on_commit_callbacks,
):
    from tickets.models import SecurityEvent

    AgentFactory(username="agent1", tiers=[1])
    with django_capture_on_commit_callbacks(execute=True):  # allauth tells after commit
        enrol("agent1")
    with next_code_window():
        password_step("agent1").post("/accounts/2fa/authenticate/", {"code": "000000"})

    kinds = list(SecurityEvent.objects.filter(username="agent1").values_list("kind", flat=True))
    assert "mfa_added" in kinds and "mfa_failed" in kinds


def test_guessing_the_code_after_the_password_is_cut_off(settings):
    """Someone who has the password must not try codes for ever: after
    HELPDESK_SIGN_IN_FAILURES wrong ones the account's second step is refused, the right
    code included, for HELPDESK_LOCKOUT_MINUTES (starting the sign-in again changes
    nothing). Wrong passwords stay django-axes' to count (429 after as many)."""
    AgentFactory(username="agent1", tiers=[1])
    secret, _codes = enrol("agent1")

    with next_code_window():
        guesser = password_step("agent1")
        for guess in range(settings.AXES_FAILURE_LIMIT):
            guesser.post("/accounts/2fa/authenticate/", {"code": f"{guess:06d}"})
        again = password_step("agent1")  # a new sign-in: the count is the account's
        refused = again.post("/accounts/2fa/authenticate/", {"code": totp(secret)})

        assert "_auth_user_id" not in again.session
        assert "Too many failed login attempts" in refused.text

    # The password step alone is not limited by allauth: axes' lockout page after 5.
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"login": "agent2", "password": "wrong"})
    assert client.post("/accounts/login/", {"login": "agent2", "password": "x"}).status_code == 429
