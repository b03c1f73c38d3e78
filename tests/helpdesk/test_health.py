"""/healthz tells load balancers whether this process can reach its database and Redis."""

import http.client
import json
import os
import sys

import pytest

from tests.helpdesk.servers import serving


@pytest.mark.django_db
def test_healthy(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    if settings.REDIS_URL:
        assert body["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_unreachable_redis_is_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unreachable"},
    }


@pytest.mark.django_db
def test_probes_by_the_servers_address_are_answered(client, settings):
    """A load balancer or docker's health check names the server's address, not the site."""
    settings.ALLOWED_HOSTS = ["help.example.com"]

    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    # Every other page still refuses a host that is not the site's.
    assert client.get("/kb/", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_broken_database_is_503_from_the_real_server(tmp_path):
    """A real ASGI server whose database is down answers 503, not 500, and says why."""
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/helpdesk",  # nothing listens there
        "REDIS_URL": "",
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
    }
    uvicorn = [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--port"]
    with serving(lambda port: [*uvicorn, str(port)], env) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/healthz")
        response = connection.getresponse()

        assert response.status == 503
        assert json.loads(response.read()) == {
            "status": "unavailable",
            "checks": {"database": "unreachable"},
        }


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/kb/", "/status/", "/support/new/"])
def test_pages_answer_head_as_they_answer_get(client, path):
    """Uptime monitors and link checkers ask HEAD (HTTP: wherever GET is answered)."""
    response = client.head(path)

    assert response.status_code == 200
    assert response.content == b""
