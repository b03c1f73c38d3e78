"""What docker-compose.yml runs works as README's "Running in production" says: the image's
own `collectstatic` step, then the `web` command with the compose file's settings, serves
pages; the `web` service's health check passes; the settings put in .env reach the app."""

import http.client
import os
import re
import secrets
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpdesk.servers import serving
from tests.helpdesk.test_client_address import _compose_web_command

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
# What an operator puts in .env (README): the variables the compose file requires.
DOTENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "help.example.com",
    "PUBLIC_BASE_URL": "https://help.example.com",
    "POSTGRES_PASSWORD": "unused-here",
}


def _interpolated(value: str) -> str:
    """A compose value with ${NAME:-default} and ${NAME:?error} filled in from DOTENV."""
    return re.sub(
        r"\$\{(\w+):([-?])([^}]*)\}",
        lambda m: DOTENV.get(m[1], m[3] if m[2] == "-" else ""),
        value,
    )


def _collectstatic_as_the_image_builds(static_root: Path, data_dir: Path) -> None:
    """The image's `RUN ... collectstatic` line, with only what that line sets (a build has
    none of the app's settings)."""
    dockerfile = COMPOSE["x-app"]["build"]["dockerfile_inline"]
    line = next(line for line in dockerfile.splitlines() if "collectstatic" in line)
    words = shlex.split(line.strip().removeprefix("RUN "))
    assignments = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    assert words[:2] == ["python", "manage.py"]
    environment = {
        "PATH": os.environ["PATH"],
        "DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(static_root),  # /app/staticfiles in the image
        **assignments,
    }
    subprocess.run(
        [sys.executable, *words[1:], "--verbosity=0"],
        cwd=ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The `web` service on a free port: the image's static files, the compose file's
    environment (SQLite and no Redis stand in for the `db` and `redis` services)."""
    folder = tmp_path_factory.mktemp("compose")
    _collectstatic_as_the_image_builds(folder / "staticfiles", folder)
    environment = {
        name: _interpolated(str(value)) for name, value in COMPOSE["x-app"]["environment"].items()
    }
    environment.update(
        PATH=os.environ["PATH"],
        STATIC_ROOT=str(folder / "staticfiles"),
        DATA_DIR=str(folder),
        MEDIA_ROOT=str(folder / "media"),
        DATABASE_URL=f"sqlite:///{folder}/db.sqlite3",
        REDIS_URL="",
    )
    with serving(_compose_web_command, environment) as port:
        yield port


def test_the_image_serves_pages_with_their_static_files(web):
    # The proxy in front of `web` names the site and says the request came over HTTPS.
    connection = http.client.HTTPConnection("127.0.0.1", web, timeout=10)
    connection.request(
        "GET", "/api/docs/", headers={"Host": "help.example.com", "X-Forwarded-Proto": "https"}
    )
    response = connection.getresponse()
    page = response.read().decode()

    assert response.status == 200
    # Static files named by their content's hash (cached for ever), as collected.
    assert re.search(r'/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.\w+\.css"', page)


def test_the_web_services_health_check_passes(web):
    """Docker runs it inside the container, by the server's address, not the site's name
    (ALLOWED_HOSTS): so do load balancers."""
    check = COMPOSE["services"]["web"]["healthcheck"]["test"]
    assert check[:2] == ["CMD", "python"]
    command = [sys.executable, *(part.replace(":8000/", f":{web}/") for part in check[2:])]

    assert subprocess.run(command, capture_output=True, timeout=30).returncode == 0


def _provider_settings() -> set[str]:
    """The settings README's "What each provider needs" names (its last column)."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### What each provider needs", 1)[1].split("\n\n", 2)[1]
    names = set()
    for row in table.splitlines()[2:]:
        names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.rsplit(" | ", 1)[1]))
    return names


def test_the_settings_put_in_dotenv_reach_the_app():
    """README: put the provider settings in .env. Compose reads .env only to fill in its own
    ${...}: a variable reaches the containers when the file names it, or reads .env whole."""
    assert {
        "HELPDESK_SUPPORT_ADDRESS",
        "TWILIO_AUTH_TOKEN",
        "EMAIL_USE_SSL",
    } <= _provider_settings()
    for name in ("migrate", "web", "worker", "beat"):
        service = COMPOSE["services"][name]
        env_files = [
            entry if isinstance(entry, str) else entry["path"]
            for entry in service.get("env_file", [])
        ]
        missing = {
            setting
            for setting in _provider_settings()
            if setting not in service["environment"] and ".env" not in env_files
        }
        assert not missing, name
