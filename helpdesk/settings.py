"""Django settings, read from the environment (see the configuration table in README.md).

Defaults give the embedded set-up: SQLite under DATA_DIR, an in-memory channel layer,
a local-memory cache and a file-system Celery broker, so nothing needs a server.
Setting DATABASE_URL and REDIS_URL switches to PostgreSQL and Redis.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE as CSP_NONCE
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from helpdesk.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The public address of this help desk, used in links sent to customers and in webhook
# signature checks (providers sign the URL they called).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",  # allauth's passkey list
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "anymail",
    # Staff sign-in with a second factor (TOTP, passkeys, recovery codes): django-allauth.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "tickets",
    "channels_ingest",
    "knowledge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /healthz for probes that name the server by its address (before the Host check).
    "helpdesk.health.AnswerProbesByAddress",
    # Versioned script catalogues are kept by browsers whatever the cookies (no Vary).
    "helpdesk.catalogue.KeptWhole",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the switcher's cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A signed-in customer's own language (kept on the customer) over the browser's.
    "helpdesk.i18n.CustomerLanguage",
    "helpdesk.mfa.RequireSecondFactor",
    # An agent's own time zone and language (My settings) for the workspace.
    "tickets.workspace.preferences.AgentPreferences",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tickets.api.limits.RateLimitHeaders",
    # After django-csp's: adds the sign-in providers to form-action on /accounts/ pages.
    "helpdesk.sso.AllowSignInProviders",
    # Last: answers a locked-out sign-in (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"
ASGI_APPLICATION = "helpdesk.asgi.application"
# Threads per web process for the synchronous part of HTTP requests (helpdesk/asgi_http.py):
# the most requests one process works on at once; more wait for a thread.
HTTP_THREADS = env_int("HTTP_THREADS", 32)
if HTTP_THREADS < 1:
    raise ImproperlyConfigured(f"HTTP_THREADS must be at least 1, got {HTTP_THREADS}")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                # The known issues' banner (help center, contact form, chat): lazy, kept.
                "tickets.problems.context.known_issues_banner",
                # The brand (name, logo, colours, favicon): lazy, kept per process.
                "tickets.branding.context.brand",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'helpdesk.sqlite3'}")


def _database(url: str) -> dict[str, Any]:
    config: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=env_int("CONN_MAX_AGE", 0), conn_health_checks=True)
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Web, worker and beat share one file: wait for the write lock instead of failing,
        # and let readers proceed while one process writes.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif env_bool("DATABASE_POOL", default=False):
        # Under ASGI a connection is held by each HTTP request being worked on (up to
        # HTTP_THREADS) and each live chat message (the loop's worker threads, up to 6 on
        # two cores), for as long as it takes; when all 8 are taken the next one waits.
        config["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 8}}
    return config


DATABASES = {"default": _database(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are a PostgreSQL speed-up; on SQLite the index is kept without
# the extra columns, which is what we want there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Redis: cache, channel layer, Celery broker ----------------------------------------

REDIS_URL = env_str("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # One pool per process, not one per request (helpdesk/redis_pool.py).
            "OPTIONS": {"pool_class": "helpdesk.redis_pool.SharedConnectionPool"},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A consumer waits for its messages with a blocking pop of up to 5 s;
                # redis-py 8 also gives up reading after 5 s by default, which tore idle
                # sockets down (channels_redis issue #422). The read may take a little
                # longer than the pop.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                # All the sockets of one server process share one Redis list for what
                # groups send them; past `capacity` waiting messages, new ones are dropped.
                # The default (100) is sized for one socket: with hundreds of live chats a
                # moment's lag dropped chat messages (docs/benchmarks.md).
                "capacity": 2000,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery -----------------------------------------------------------------------------

# (The filesystem transport ignores the host; naming one keeps kombu from warning.)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded default: a broker that is a folder, so no server is needed.
    _broker_dir = DATA_DIR / "celery-broker"
    for _folder in (_broker_dir, DATA_DIR / "celery-control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(DATA_DIR / "celery-control"),
    }
# What tasks print (the development console mail backend's mails) is information, not a
# warning (Celery's default level for it).
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per concern, so each can be given its own workers (README, "Scaling out").
CELERY_TASK_QUEUES = [
    Queue(name)
    for name in (
        "default",
        "ingest",
        "recovery",
        "tier0",
        "tier1",
        "tier2",
        "tier3",
        "sla",
        "notify",
        "rules",
        "webhooks",
    )
]
CELERY_TASK_ROUTES = {
    # route_ticket is sent to the queue of the ticket's tier explicitly; this is the fallback.
    "tickets.route_ticket": {"queue": "tier1"},
    "tickets.sweep_routing": {"queue": "sla"},
    "tickets.sla_sweep": {"queue": "sla"},
    "tickets.sweep_chats": {"queue": "sla"},
    "tickets.email_notifications": {"queue": "notify"},
    "tickets.send_sign_in_link": {"queue": "notify"},
    "tickets.send_password_reset": {"queue": "notify"},
    "tickets.mail_weekly_reports": {"queue": "notify"},
    "channels_ingest.process_inbound": {"queue": "ingest"},
    "channels_ingest.process_inbound_batch": {"queue": "ingest"},
    # Its own queue: re-driving lost work never waits behind the ingest backlog.
    "channels_ingest.sweep_inbound": {"queue": "recovery"},
    "channels_ingest.poll_mailbox": {"queue": "ingest"},
    "channels_ingest.fetch_sms_media": {"queue": "ingest"},
    "channels_ingest.poll_mailboxes": {"queue": "ingest"},
    "channels_ingest.deliver_message": {"queue": "notify"},
    "channels_ingest.deliver_messages": {"queue": "notify"},
    "channels_ingest.sweep_outbound": {"queue": "notify"},
    "channels_ingest.send_ticket_received": {"queue": "notify"},
    # Triggers and webhook subscriptions hear every ticket event (tickets.automation).
    "tickets.dispatch_events": {"queue": "rules"},
    "tickets.run_automations": {"queue": "rules"},
    # Its own queue: a slow receiver never holds up notices or the rules.
    "tickets.deliver_webhooks": {"queue": "webhooks"},
    "tickets.sweep_webhooks": {"queue": "webhooks"},
}
# Installed into django-celery-beat's tables on start; admins can change them there.
CELERY_BEAT_SCHEDULE = {
    "sweep-chats": {
        "task": "tickets.sweep_chats",
        "schedule": env_int("HELPDESK_CHAT_SWEEP_SECONDS", 60),
    },
    "sla-sweep": {
        "task": "tickets.sla_sweep",
        "schedule": env_int("HELPDESK_SLA_SWEEP_SECONDS", 30),
    },
    "sweep-routing": {
        "task": "tickets.sweep_routing",
        "schedule": env_int("HELPDESK_ROUTING_SWEEP_SECONDS", 30),
    },
    "sweep-inbound": {
        "task": "channels_ingest.sweep_inbound",
        "schedule": env_int("HELPDESK_INBOUND_SWEEP_SECONDS", 30),
    },
    "sweep-outbound": {
        "task": "channels_ingest.sweep_outbound",
        "schedule": env_int("HELPDESK_OUTBOUND_SWEEP_SECONDS", 120),
    },
    "poll-mailboxes": {
        "task": "channels_ingest.poll_mailboxes",
        "schedule": env_int("HELPDESK_IMAP_POLL_SECONDS", 60),
    },
    "run-automations": {
        "task": "tickets.run_automations",
        "schedule": env_int("HELPDESK_AUTOMATIONS_SECONDS", 60),
    },
    # Webhook deliveries whose retry is due, or whose task was lost.
    "sweep-webhooks": {
        "task": "tickets.sweep_webhooks",
        "schedule": env_int("HELPDESK_WEBHOOK_SWEEP_SECONDS", 30),
    },
    # The reports' daily counts: days changes made stale are counted again (docs/reports.md).
    "rollup-reports": {
        "task": "tickets.rollup_reports",
        "schedule": env_int("HELPDESK_ROLLUP_SECONDS", 60),
    },
    # Mondays at 07:00 (UTC, CELERY_TIMEZONE): last week's summary (weeks in TIME_ZONE) to
    # the admins and leads who asked for it.
    "weekly-reports": {
        "task": "tickets.mail_weekly_reports",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
    # Nightly at 03:15 (UTC): the admins' retention rules anonymise or delete closed tickets,
    # and expired customer exports are removed (README, "Privacy").
    "retention": {
        "task": "tickets.apply_retention",
        "schedule": crontab(minute=15, hour=3),
    },
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Email (django-anymail) ---------------------------------------------------------------

# EMAIL_ESP names an anymail provider ("postmark", "mailgun", "sendgrid", "amazon_ses", ...).
# Its credentials come from ANYMAIL_* variables, passed to anymail without the prefix,
# e.g. ANYMAIL_POSTMARK_SERVER_TOKEN -> ANYMAIL["POSTMARK_SERVER_TOKEN"].
EMAIL_ESP = env_str("EMAIL_ESP")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
# Without a provider, mail goes through your own mail server when EMAIL_HOST names it
# (Django's SMTP backend; a batch of notices shares one session), else to the console.
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)  # TLS from the start, port 465
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL, not both.")
if EMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_ESP}.EmailBackend"
else:
    EMAIL_BACKEND = env_str(
        "EMAIL_BACKEND",
        "django.core.mail.backends.smtp.EmailBackend"
        if env_str("EMAIL_HOST")
        else "django.core.mail.backends.console.EmailBackend",
    )
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "support@localhost")
# The name customers see on our mail.
HELPDESK_SENDER_NAME = env_str("HELPDESK_SENDER_NAME", "Support")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# A provider's signed webhook is refused when signed longer ago than this, and a signature
# is taken once within it (channels_ingest/email/mailgun.py): Mailgun retries for 8 hours.
HELPDESK_WEBHOOK_MAX_AGE_MINUTES = env_int("HELPDESK_WEBHOOK_MAX_AGE_MINUTES", 540)

# --- SMS and voice (Twilio-compatible) ----------------------------------------------------

SMS_BACKEND = env_str("SMS_BACKEND", "console")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")

# --- Monitoring ---------------------------------------------------------------------------

# The bearer token monitoring sends to /inbound/monitoring/ (Alertmanager: http_config's
# authorization credentials). Empty: the door is switched off (404).
HELPDESK_MONITORING_TOKEN = env_str("HELPDESK_MONITORING_TOKEN")

# --- The help desk ------------------------------------------------------------------------

HELPDESK_TICKET_PREFIX = env_str("HELPDESK_TICKET_PREFIX", "HD")
# The mailbox customers write to; replies carry a signed +token of it as Reply-To.
HELPDESK_SUPPORT_ADDRESS = env_str("HELPDESK_SUPPORT_ADDRESS", DEFAULT_FROM_EMAIL)
# A text or call from a number joins that customer's latest open ticket if it moved within
# this many hours; otherwise it opens a new ticket.
HELPDESK_SMS_THREAD_HOURS = env_int("HELPDESK_SMS_THREAD_HOURS", 72)
# An inbound item stored this long ago and still not processed lost its task (a worker
# killed, the broker restarted empty): the inbound sweep processes it (README, Channels).
HELPDESK_INBOUND_STALE_SECONDS = env_int("HELPDESK_INBOUND_STALE_SECONDS", 60)
# How often a process asks whether an admin changed the tiers, SLA policies, calendars or
# customer notices it keeps in memory (tickets/services/desk_setup.py).
HELPDESK_SETUP_CHECK_SECONDS = env_int("HELPDESK_SETUP_CHECK_SECONDS", 1)
# Automatic mail (confirmations, notifications) to one address, at most this many per hour:
# two help desks answering each other must not loop.
HELPDESK_AUTOMATIC_MAIL_PER_HOUR = env_int("HELPDESK_AUTOMATIC_MAIL_PER_HOUR", 5)
# A CA bundle trusted (instead of the system's) for IMAP servers with a private CA.
HELPDESK_IMAP_CA_FILE = env_str("HELPDESK_IMAP_CA_FILE")
# Automatic notices to customers (received, escalated, resolved; worded in the admin).
# Switch off for bulk imports.
HELPDESK_CUSTOMER_NOTICES = env_bool("HELPDESK_CUSTOMER_NOTICES", default=True)
# How many times in a row rules may change a ticket in answer to each other's changes
# before the next is stopped (and reported): a bound on chains, and a stop for loops.
HELPDESK_RULES_MAX_DEPTH = env_int("HELPDESK_RULES_MAX_DEPTH", 5)
# Knowledge-base answers put before a customer unasked (tier 0's replies by email and SMS,
# the chat, the contact form's suggestions) need this confidence (0-1); without such a match
# a ticket goes straight on to tier 1. Calibrated on tests/kb_eval (docs/benchmarks.md).
HELPDESK_TIER0_CONFIDENCE = float(env_str("HELPDESK_TIER0_CONFIDENCE", "0.075"))
# Lists a person scans (the help-center search, the API, agents' suggestions) show articles
# that hold at least this share (0-1) of what the query says (its words, weighted by rarity);
# less for long texts (knowledge.selectors.coverage_floor).
KNOWLEDGE_MIN_COVERAGE = float(env_str("KNOWLEDGE_MIN_COVERAGE", "0.2"))
# Language of the knowledge base's search (stemming): a PostgreSQL text-search configuration
# name such as english, german or french ("simple" stems nothing); the index is rebuilt
# by `manage.py kb_reindex`.
KNOWLEDGE_SEARCH_CONFIG = env_str("KNOWLEDGE_SEARCH_CONFIG", "english")
# The same for the agents' ticket search (subjects and messages); indexed when migrating.
TICKET_SEARCH_CONFIG = env_str("TICKET_SEARCH_CONFIG", KNOWLEDGE_SEARCH_CONFIG)
# The knowledge base's answers counted per client address: "Was this helpful?" and the
# contact form's "this solved my problem" per hour (one reader answers once per article;
# these stop a script dropping its cookies), suggestion requests per minute (one per pause
# in typing is far less).
HELPDESK_KB_VOTES_PER_HOUR = env_int("HELPDESK_KB_VOTES_PER_HOUR", 30)
HELPDESK_KB_SOLVED_PER_HOUR = env_int("HELPDESK_KB_SOLVED_PER_HOUR", 30)
HELPDESK_KB_SUGGESTIONS_PER_MINUTE = env_int("HELPDESK_KB_SUGGESTIONS_PER_MINUTE", 60)
# Web-form requests accepted per client address and per email address in ten minutes.
HELPDESK_WEB_FORM_PER_10_MINUTES = env_int("HELPDESK_WEB_FORM_PER_10_MINUTES", 5)
# Customers may reopen (or follow up on) a resolved or closed ticket in the portal for this
# many days; after that the portal offers a new request.
HELPDESK_REOPEN_DAYS = env_int("HELPDESK_REOPEN_DAYS", 7)
# A portal sign-in link sent by email works once, for this many minutes.
HELPDESK_SIGN_IN_LINK_MINUTES = env_int("HELPDESK_SIGN_IN_LINK_MINUTES", 30)
# Live chat: a chat whose customer's page has been silent this long ends by itself (the
# ticket stays open for follow-up by email); agents count as online this long after their
# workspace's last heartbeat.
HELPDESK_CHAT_ABANDON_MINUTES = env_int("HELPDESK_CHAT_ABANDON_MINUTES", 5)
HELPDESK_CHAT_ONLINE_SECONDS = env_int("HELPDESK_CHAT_ONLINE_SECONDS", 90)
# The Celery task that sends a pending outbound message (tickets does not import channels).
HELPDESK_DELIVERY_TASK = "channels_ingest.tasks.deliver_message"
# The one that sends many (the notices of a batch of new tickets).
HELPDESK_DELIVERY_BATCH_TASK = "channels_ingest.tasks.deliver_messages"
# The one that sends a side conversation's message to its third party (tickets.collab).
HELPDESK_SIDE_DELIVERY_TASK = "channels_ingest.tasks.deliver_side_message"
# The Celery task that emails agents their notifications (if they asked for it).
HELPDESK_AGENT_EMAIL_TASK = "tickets.tasks.email_notifications"
# The Celery task that routes a ticket (queued on its tier's queue).
HELPDESK_ROUTING_TASK = "tickets.tasks.route_ticket"
# Spikes of tickets alike (tickets.problems.spikes): at least this many in 15 minutes, and
# this many times as many as usual, tell the agents.
HELPDESK_SPIKES = env_bool("HELPDESK_SPIKES", default=True)
HELPDESK_SPIKE_MIN_TICKETS = env_int("HELPDESK_SPIKE_MIN_TICKETS", 5)
HELPDESK_SPIKE_FACTOR = float(env_str("HELPDESK_SPIKE_FACTOR", "4"))
# Answers and resolves a solved problem's tickets (tickets.problems.solving).
HELPDESK_SOLVE_PROBLEM_TASK = "tickets.tasks.solve_problem"
# Texts someone who asked to be told when a known issue is fixed (tickets.problems.telling).
HELPDESK_SMS_NOTICE_TASK = "channels_ingest.tasks.send_sms_notice"
# Texts a customer the link that confirms their number (tickets.services.verification).
HELPDESK_SMS_VERIFICATION_TASK = "channels_ingest.tasks.send_sms_verification"
# Outgoing webhooks: a receiver has this long to accept the connection, then to answer; a
# delivery is tried this many times (pauses from 30 s doubling up to an hour: 8 tries take
# about an hour) before it is given up; a webhook failing this many times in a row is
# switched off and the admins are told.
HELPDESK_WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_int("HELPDESK_WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5)
HELPDESK_WEBHOOK_TIMEOUT_SECONDS = env_int("HELPDESK_WEBHOOK_TIMEOUT_SECONDS", 10)
HELPDESK_WEBHOOK_MAX_ATTEMPTS = env_int("HELPDESK_WEBHOOK_MAX_ATTEMPTS", 8)
HELPDESK_WEBHOOK_DISABLE_AFTER = env_int("HELPDESK_WEBHOOK_DISABLE_AFTER", 20)
# Region used to read phone numbers written without a country code.
HELPDESK_PHONE_REGION = env_str("HELPDESK_PHONE_REGION", "US")

# --- Auth, i18n, static and media ----------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Agents sign in here (customers use the portal's own sign-in); password reset is by email.
LOGIN_URL = "login"
# Django's model backend, with the agent profile read with the user (one query a page).
AUTHENTICATION_BACKENDS = [
    # First: refuses every sign-in door (workspace, admin, portal password) while locked.
    "axes.backends.AxesStandaloneBackend",
    "helpdesk.auth_backends.UserWithProfileBackend",  # USER_BACKEND
]
# Sign-in lockout (django-axes): after HELPDESK_SIGN_IN_FAILURES wrong passwords for one
# account, or from one client address, that account or address is refused for
# HELPDESK_LOCKOUT_MINUTES (a right password included); a success clears the count. Admins
# release it early in the admin (Axes > Access attempts) or with `manage.py axes_reset`.
AXES_FAILURE_LIMIT = env_int("HELPDESK_SIGN_IN_FAILURES", 5)
HELPDESK_LOCKOUT_MINUTES = env_int("HELPDESK_LOCKOUT_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=HELPDESK_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address gunicorn took from a trusted proxy (FORWARDED_ALLOW_IPS), never a header a
# client sent itself.
AXES_CLIENT_IP_CALLABLE = "helpdesk.ratelimit.client_address"
# The staff door (allauth's form) names the account "login", the portal's "username".
AXES_USERNAME_CALLABLE = "helpdesk.auth_backends.typed_username"
AXES_VERBOSE = False
# Wrong API tokens from one address before it is answered 429 (HELPDESK_LOCKOUT_MINUTES).
HELPDESK_API_TOKEN_FAILURES = env_int("HELPDESK_API_TOKEN_FAILURES", 20)
# With Redis, sessions are read from the cache (and kept in the database too); a per-process
# cache would keep a signed-out session alive in the other processes.
if REDIS_URL:
    SESSION_ENGINE = "helpdesk.sessions"
LOGIN_REDIRECT_URL = "agent:home"
# Staff sign in at /accounts/login/ through django-allauth, which asks for the second factor
# (MFA) of an account that has one; nobody signs up there (admins create staff accounts).
ACCOUNT_ADAPTER = "helpdesk.auth_backends.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
# Wrong passwords are counted once, by django-axes (AXES_* above): allauth's count of them
# is left out (helpdesk.auth_backends.StaffAccountAdapter.pre_authenticate). Its
# "login_failed" limit still counts the wrong codes of the second step (MFA), per account:
# as many as wrong passwords, for as long.
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"10/m/ip,{AXES_FAILURE_LIMIT}/{HELPDESK_LOCKOUT_MINUTES}m/key"
}
# Single sign-on for staff through OpenID Connect (Microsoft Entra ID, Okta, Google
# Workspace...): set the issuer, client id and secret here, or add a "Social application"
# (provider OpenID Connect) in the admin. It signs in an existing staff account whose
# address the provider vouches for; it makes no new accounts. HELPDESK_SSO_REQUIRED then
# refuses staff passwords at the sign-in (superusers keep theirs, to mend a broken set-up).
HELPDESK_SSO_NAME = env_str("HELPDESK_SSO_NAME", "Single sign-on")
HELPDESK_SSO_REQUIRED = env_bool("HELPDESK_SSO_REQUIRED", default=False)
SOCIALACCOUNT_ADAPTER = "helpdesk.auth_backends.StaffSocialAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_PROVIDERS: dict[str, Any] = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
if env_str("HELPDESK_SSO_ISSUER"):
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [
        {
            "provider_id": "sso",
            "name": HELPDESK_SSO_NAME,
            "client_id": env_str("HELPDESK_SSO_CLIENT_ID"),
            "secret": env_str("HELPDESK_SSO_CLIENT_SECRET"),
            "settings": {"server_url": env_str("HELPDESK_SSO_ISSUER")},
        }
    ]
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# Staff addresses are set by admins, not verified by a mail from allauth.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Who must have a second factor: "staff" (agents and admins), "admins", or "off" (each
# person chooses; see helpdesk/mfa.py). docker-compose.yml sets "admins".
HELPDESK_MFA_REQUIRED = env_str("HELPDESK_MFA_REQUIRED", "off")
if HELPDESK_MFA_REQUIRED not in {"off", "admins", "staff"}:
    raise ImproperlyConfigured(
        f"HELPDESK_MFA_REQUIRED must be off, admins or staff, not {HELPDESK_MFA_REQUIRED!r}"
    )
MFA_TOTP_ISSUER = env_str("HELPDESK_MFA_ISSUER", "Help desk")
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG  # passkeys on http://localhost in development
LOGOUT_REDIRECT_URL = "login"
# Django's renderer, with its plain widgets written without the template engine (faster).
FORM_RENDERER = "helpdesk.forms_renderer.WidgetRenderer"

# English is the default and the language of everything not yet translated; customers may
# also read German (README "Languages": how to add one).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Largest file accepted as an attachment, in bytes.
HELPDESK_MAX_ATTACHMENT_BYTES = env_int("HELPDESK_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)
# Largest total of the files sent at once in a form (contact form, portal, workspace): ten
# files of the largest size would otherwise fill the disk ten times as fast.
HELPDESK_MAX_UPLOAD_BYTES = env_int("HELPDESK_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
# Largest request body Django reads (its default, 2.5 MiB, refused providers' webhooks for
# mail with a few MiB of attachments, and the provider gave up: mail lost). Providers post
# mail up to 25-35 MB, base64 adds a third.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("HELPDESK_MAX_REQUEST_BYTES", 50 * 1024 * 1024)
# The largest email `manage.py ingest_email` takes (an MTA bounces a larger one).
HELPDESK_MAX_EMAIL_BYTES = env_int("HELPDESK_MAX_EMAIL_BYTES", 40 * 1024 * 1024)

# --- Security (production values unless DEBUG) ------------------------------------------------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
# The language switcher's choice, kept a year (Django's default), sent like the session's.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every answer (django-csp): scripts only from this site, or
# inline with the request's nonce ({{ CSP_NONCE }}); never 'unsafe-inline' for scripts.
# Inline styles stay allowed (the admin's and htmx's). No other site may frame a page but
# the chat's embedded version (channels_ingest/chat/page.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF, CSP_NONCE],
        "style-src": [CSP_SELF, CSP_UNSAFE_INLINE],
        "img-src": [CSP_SELF, "data:"],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    }
}
# What pages may ask the browser for: nothing of the kind.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer",
        "microphone", "payment", "usb",
    )
}  # fmt: skip
# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=1 so Django trusts
# X-Forwarded-Proto (only do this when the proxy always sets it).
if env_bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health check is probed over plain HTTP by load balancers and orchestrators.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- REST API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first, so that an anonymous request is answered 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tickets.api.limits.LimitedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tickets.api.permissions.IsStaffMember"],
    # Rate limits (tickets/api/limits.py): per signed-in user (one token each), and per
    # address for anonymous clients; the address is REMOTE_ADDR (NUM_PROXIES 0: DRF does
    # not read X-Forwarded-For itself).
    "DEFAULT_THROTTLE_CLASSES": ["tickets.api.limits.UserRate", "tickets.api.limits.AnonRate"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("HELPDESK_API_RATE_USER", "240/minute"),
        "anon": env_str("HELPDESK_API_RATE_ANON", "60/minute"),
    },
    "NUM_PROXIES": 0,
    "DEFAULT_PAGINATION_CLASS": "tickets.api.pagination.CreatedCursorPagination",
    # DRF's three, JSON nested too deeply answered 400 (not RecursionError, a 500).
    "DEFAULT_PARSER_CLASSES": [
        "tickets.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tickets.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Help desk API",
    "DESCRIPTION": "Tickets, messages, customers and tiers of the help desk, for agents and "
    "admins: authenticate with a token (`Authorization: Token <key>`) or a staff session. "
    "The knowledge-base search (/api/v1/kb/search) is public; staff also see agent-only "
    "articles.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: the outgoing webhooks are documented in the schema's `webhooks` section.
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": ["tickets.api.webhook_schema.ticket_event"],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "PriorityEnum": "tickets.models.Priority",
        "ChannelEnum": "tickets.models.Channel",
        "ProblemStatusEnum": "tickets.models.ProblemStatus",
        "ProblemStatusFilterEnum": "tickets.api.problem_serializers.STATUS_FILTERS",
        "ProblemStatusChangeEnum": "tickets.api.problem_serializers.STATUS_CHANGES",
    },
}

# --- Logging -------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
