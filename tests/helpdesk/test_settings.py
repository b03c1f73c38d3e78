"""Settings come from the environment; production values pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mail_server import running_mail_server

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "SECRET_KEY": "k8Qw2-prod-like-secret-with-enough-entropy-x7Zr9LmN4pV6sT1yB3cF5hJ",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "help.example.com",
    "DATABASE_URL": "postgres://helpdesk:secret@db.internal:5432/helpdesk",
    "REDIS_URL": "redis://redis.internal:6379/0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_missing_secret_key_is_refused_when_debug_is_off():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_bad_boolean_is_a_clear_error():
    result = manage("check", env={**PRODUCTION, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_http_threads_must_be_at_least_one():
    result = manage("check", env={**PRODUCTION, "HTTP_THREADS": "0"})
    assert result.returncode != 0
    assert "HTTP_THREADS must be at least 1, got 0" in result.stderr


def test_redis_url_switches_cache_channel_layer_and_broker():
    code = (
        "from django.conf import settings as s;"
        "print(s.CACHES['default']['BACKEND']);"
        "print(s.CHANNEL_LAYERS['default']['BACKEND']);"
        "print(s.CELERY_BROKER_URL);"
        "print(s.DATABASES['default']['ENGINE'])"
    )
    result = manage("shell", "--no-imports", "-c", code, env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "channels_redis.core.RedisChannelLayer",
        "redis://redis.internal:6379/0",
        "django.db.backends.postgresql",
    ]


def test_embedded_default_needs_no_server(tmp_path):
    env = {"DEBUG": "1", "DATA_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    env = {k: v for k, v in env.items() if v}
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']);"
        "print(s.CHANNEL_LAYERS['default']['BACKEND']);"
        "print(s.CELERY_BROKER_URL)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "filesystem://localhost/",
    ]


def test_make_run_links_name_the_web_port_whatever_port_honcho_gives_each_process():
    from helpdesk.devtools import run_environment

    assert run_environment({"PORT": "8101"})["PUBLIC_BASE_URL"] == "http://localhost:8101"
    assert run_environment({})["PUBLIC_BASE_URL"] == "http://localhost:8000"
    mine = {"PORT": "8101", "PUBLIC_BASE_URL": "https://help.example.com"}
    assert run_environment(mine)["PUBLIC_BASE_URL"] == "https://help.example.com"


@pytest.mark.django_db
def test_no_favicon_404(client):
    response = client.get("/favicon.ico")
    # The default favicon until an admin uploads one (tests/branding/test_favicon.py).
    assert response.status_code == 302 and response["Location"].endswith("/brand/favicon.png")
    page = client.get("/kb/").content.decode()
    assert 'rel="icon"' in page


def test_mail_goes_through_the_smtp_server_named_in_the_environment():
    # What an admin runs to check the mail settings: Django's own test email.
    with running_mail_server() as smtp_server:
        env = {**PRODUCTION, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_server.port)}
        result = manage("sendtestemail", "admin@example.com", env=env)
    assert result.returncode == 0, result.stderr
    assert [to for to, _subject in smtp_server.received] == ["admin@example.com"]


def test_starttls_and_tls_from_the_start_are_not_both_taken():
    env = {**PRODUCTION, "EMAIL_HOST": "mail.example.com", "EMAIL_USE_TLS": "1"}
    result = manage("check", env={**env, "EMAIL_USE_SSL": "1"})
    assert result.returncode != 0
    assert "Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL, not both." in result.stderr
