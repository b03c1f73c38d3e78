"""Settings of the minimal Django project that runs the peer, django-helpdesk 2.6.1, for
tests/benchmarks/bench_peer.py (imported only by peer/child.py, in the peer's own venv).

Its installation notes: `helpdesk` beside django.contrib.admin, auth, contenttypes,
sessions, messages, staticfiles, sites (links in its mail) and humanize (elapsed times), and
rest_framework (its API, enabled by default). Teams mode is switched off: it needs the
optional pinax-teams extra, and teams play no part in mail import or the ticket page.
Production-like: DEBUG off, PostgreSQL through psycopg 3, Django's locmem mail backend (the
notices are built and "sent", and nothing leaves the machine).

Environment (set by bench_peer.py): PEER_DATABASE_URL, PEER_MEDIA_ROOT.
"""

import os
from urllib.parse import unquote, urlsplit

_database = urlsplit(
    os.environ.get("PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_bench_peer")
)

SECRET_KEY = "bench-only-peer-secret-key-not-for-production-use-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peer_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.path.lstrip("/"),
        "USER": unquote(_database.username or "postgres"),
        "PASSWORD": unquote(_database.password or ""),
        "HOST": _database.hostname or "127.0.0.1",
        "PORT": str(_database.port or 5432),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

SITE_ID = 1
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
MEDIA_URL = "/media/"
MEDIA_ROOT = os.environ.get("PEER_MEDIA_ROOT", "")

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("PEER_SUPPORT_ADDRESS", "support@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

HELPDESK_TEAMS_MODE_ENABLED = False
