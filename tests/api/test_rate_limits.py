"""API rate limits: per signed-in user and per anonymous address, answered 429 with
Retry-After, and every answer says where the client stands; wrong tokens are limited per
address."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "5/minute", "anon": "3/minute"},
    }
    settings.HELPDESK_API_TOKEN_FAILURES = 4
    # The counts live in the shared cache: start from none for the addresses used here.
    for address in ["192.0.2.10", "192.0.2.77", "203.0.113.50", "203.0.113.60", "203.0.113.61"] + [
        f"198.51.100.{n}" for n in range(1, 4)
    ]:
        cache.delete_many([f"throttle_anon_{address}", f"api-token-failures:{address}"])


def token_client(username: str, address: str = "192.0.2.10") -> APIClient:
    agent = AgentFactory(username=username, tiers=[1])
    cache.delete(f"throttle_user_{agent.pk}")  # a user id of an earlier run of the suite
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")
    return client


def test_a_token_past_its_rate_gets_429_with_retry_after(rates):
    client = token_client("busy")
    answers = [client.get("/api/v1/tickets/") for _ in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
    assert all(a["RateLimit-Limit"] == a["X-RateLimit-Limit"] == "5" for a in answers)
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert 0 < int(answers[-1]["RateLimit-Reset"]) <= 60
    assert answers[-1].json()["error"]["code"] == "throttled"


def test_each_user_has_a_rate_of_their_own(rates):
    # Even from one address (an office): the limit is per token.
    busy, other = token_client("busy"), token_client("other")
    for _ in range(5):
        busy.get("/api/v1/tickets/")

    assert busy.get("/api/v1/tickets/").status_code == 429
    assert other.get("/api/v1/tickets/").status_code == 200


def test_anonymous_clients_are_limited_per_address(rates):
    first, second = APIClient(REMOTE_ADDR="198.51.100.1"), APIClient(REMOTE_ADDR="198.51.100.2")
    statuses = [first.get("/api/v1/kb/search", {"q": "password"}).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert second.get("/api/v1/kb/search", {"q": "password"}).status_code == 200


def test_a_forged_forwarded_for_does_not_reset_the_count(rates):
    client = APIClient(REMOTE_ADDR="198.51.100.3")
    statuses = [
        client.get(
            "/api/v1/kb/search", {"q": "vpn"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(4)
    ]

    assert statuses[-1] == 429


def test_wrong_tokens_from_one_address_are_cut_off(rates, settings):
    # The address's anonymous rate (which wrong tokens count towards too) not reached here.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "5/minute", "anon": "10/minute"},
    }
    guesser = APIClient(REMOTE_ADDR="203.0.113.50")
    guesses = []
    for n in range(5):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token {n:040x}")
        guesses.append(guesser.get("/api/v1/tickets/").status_code)
    real = token_client("real", address="203.0.113.50")

    assert guesses == [401, 401, 401, 401, 429]
    assert real.get("/api/v1/tickets/").status_code == 429  # that address, whatever token
    assert (
        token_client("elsewhere", address="192.0.2.77").get("/api/v1/tickets/").status_code == 200
    )


def test_requests_refused_without_a_token_count_towards_the_anonymous_rate(rates):
    # Refused (401) before the view runs: counted all the same, so hammering is limited.
    client = APIClient(REMOTE_ADDR="198.51.100.1")
    answers = [client.get("/api/v1/tickets/") for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1].json()["error"]["code"] == "throttled"
    # The public search from that address shares the count: it waits too.
    assert client.get("/api/v1/kb/search", {"q": "vpn"}).status_code == 429


def test_wrong_tokens_count_towards_the_anonymous_rate_before_the_cut_off(rates):
    # 3 anonymous requests a minute, 4 wrong tokens before the address is cut off: the
    # fourth guess is already answered 429 with Retry-After, as any anonymous request.
    guesser = APIClient(REMOTE_ADDR="203.0.113.60")
    answers = []
    for n in range(4):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token {n:040x}")
        answers.append(guesser.get("/api/v1/tickets/"))

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1].json()["error"]["code"] == "throttled"


def test_a_refused_signed_in_user_is_limited_by_their_own_rate(rates):
    # A customer's token (not staff): 403 on the agents' API, counted on their user rate.
    customer = UserFactory(username="portal-user")
    cache.delete(f"throttle_user_{customer.pk}")
    client = APIClient(REMOTE_ADDR="192.0.2.10")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer).key}")
    answers = [client.get("/api/v1/tickets/") for _ in range(6)]

    assert [a.status_code for a in answers] == [403] * 5 + [429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60


def test_a_librarys_api_page_counts_wrong_tokens_too(rates):
    # The API's documentation (drf-spectacular's view, open to all) refuses a wrong token
    # before its throttles as DRF's views do: counted by the same one exception handler.
    client = APIClient(REMOTE_ADDR="203.0.113.61")
    client.credentials(HTTP_AUTHORIZATION=f"Token {'f' * 40}")

    assert [client.get("/api/docs/").status_code for _ in range(4)] == [401, 401, 401, 429]
