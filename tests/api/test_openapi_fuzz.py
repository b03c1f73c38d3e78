"""Schemathesis against the OpenAPI schema, in process (WSGI): for every operation,
generated requests, valid and invalid, signed in as an agent of every tier. No request may
end in a server error, and every answer must be one the schema documents (its status
code, content type and body)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _api_schema() -> schemathesis.schemas.BaseSchema:
    """The schema /api/schema/ serves, as drf-spectacular generates it."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))


schema = _api_schema()


@pytest.fixture
def app(settings) -> Iterator[Any]:
    """The project's WSGI application, made with the tests' settings (its middleware reads
    them when made). As Django's test client does, the handler's end-of-request connection
    closing is off: it would end the test's transaction."""
    # Hundreds of requests a minute by one token: the rate limit is tested on its own.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "anon": "100000/minute"},
    }
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token(db: None, open_ticket) -> str:
    agent = AgentFactory(username="fuzzer", tiers=[0, 1, 2, 3])
    for n in range(3):  # something to find, answer, move and merge
        open_ticket(subject=f"Fuzzed ticket {n}")
    return Token.objects.create(user=agent).key


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_the_api_answers_every_request_as_its_schema_says(case, app, token):
    case.call_and_validate(
        app=app, base_url="http://localhost", headers={"Authorization": f"Token {token}"},
        checks=CHECKS,
    )  # fmt: skip


@pytest.fixture
def lead_token(db: None, open_ticket) -> str:
    from django.contrib.auth.models import Group

    from tickets.roles import LEADS_GROUP

    lead = AgentFactory(username="fuzzing-lead", tiers=[1])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    for n in range(3):
        open_ticket(subject=f"Reported ticket {n}")
    return Token.objects.create(user=lead).key


@schema.include(path_regex="/reports/").parametrize()
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_the_reports_answer_every_filter_as_their_schema_says(case, app, lead_token):
    """Signed in as a lead, so that the reports' filters themselves are fuzzed (an agent
    only ever gets 403 there)."""
    case.call_and_validate(
        app=app, base_url="http://localhost", headers={"Authorization": f"Token {lead_token}"},
        checks=CHECKS,
    )  # fmt: skip
