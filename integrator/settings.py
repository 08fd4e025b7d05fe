"""Settings for the integration back-office.

Everything comes from the environment (django-environ). With no environment at all the project
runs in development mode on a SQLite file, so every `python manage.py …` works in a fresh clone.
`DEBUG=False` switches to production mode, where every security setting defaults to the safe value.
"""

import os
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Admin classes are typed ModelAdmin[Model] (STYLE.md); this makes the subscript legal at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else None)
if not SECRET_KEY or (not DEBUG and SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "billing",
    "shops",
    "integrator",
    "ledger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "integrator.urls"
WSGI_APPLICATION = "integrator.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite is the embedded default. IMMEDIATE transactions take the write lock at BEGIN, so the
# ORM broker and the web process queue behind each other (busy timeout) instead of failing with
# "database is locked" when a read transaction tries to upgrade to a write.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not :memory:, so a qcluster subprocess in the tests can see the test database;
    # one per test process, so two test runs on one machine do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue ----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# A job never runs longer than `timeout`; `retry` is longer, so the broker only hands a task to
# a second worker when the first one died without acknowledging it.
Q_CLUSTER = {
    "name": env("Q_CLUSTER_NAME", default="integrator"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=1800),
    "retry": env.int("Q_RETRY", default=1900),
    "max_attempts": env.int("Q_MAX_ATTEMPTS", default=3),
    # Tasks a cluster takes from the broker ahead of its workers. Jobs run for minutes: a busy
    # cluster holding 50 tasks let them wait (the minutely sweep among them) while other
    # clusters sat idle, and lost them all when it died.
    "queue_limit": 1,
    "bulk": 10,
    "poll": env.float("Q_POLL", default=0.5),
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "label": "Django Q",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")

# --- E-mail ---------------------------------------------------------------------------------
if DEBUG:
    EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
else:
    vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="integrations@localhost")
SUPPORT_EMAIL = env("SUPPORT_EMAIL", default="support@localhost")

# --- Credentials at rest --------------------------------------------------------------------
# CREDENTIALS_KEYS is a comma-separated list of Fernet keys: the first encrypts, all decrypt.
# Rotation: put a new key first, run `manage.py rotate_credentials`, then drop the old key.
# Without it, one key is derived from SECRET_KEY (fine for a laptop; set your own in production).
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS", default=[])

# --- The merchants' status page ---------------------------------------------------------------
SITE_URL = env("SITE_URL", default="http://localhost:8000")  # in status links and e-mails
# Requests per minute (0 switches a limit off); behind a proxy, name the header with the
# client's address (e.g. HTTP_X_FORWARDED_FOR) so each merchant is counted, not the proxy.
STATUS_RATE_LIMIT_PER_IP = env.int("STATUS_RATE_LIMIT_PER_IP", default=60)
STATUS_RATE_LIMIT_PER_TOKEN = env.int("STATUS_RATE_LIMIT_PER_TOKEN", default=30)
STATUS_LOGIN_RATE_LIMIT_PER_IP = env.int("STATUS_LOGIN_RATE_LIMIT_PER_IP", default=10)
RATELIMIT_CLIENT_IP_HEADER = env("RATELIMIT_CLIENT_IP_HEADER", default="")

# --- The loopback sandbox of the external APIs ----------------------------------------------
SANDBOX_URL = env("SANDBOX_URL", default="http://127.0.0.1:8765")

# --- HTTP clients and the engine -------------------------------------------------------------
HTTP_TIMEOUT = env.float("HTTP_TIMEOUT", default=20.0)
# Overrides of the external APIs' request limits that every worker shares (shops/clients/
# ratelimit.py), as JSON: {"visma": null} switches Visma's off (e.g. against a sandbox without
# one), {"visma": {"requests": 6000, "per_seconds": 60}} changes it. Empty: the documented limits.
RATE_LIMITS = env.json("RATE_LIMITS", default={})
# Seconds before the first retry of an item after a transient error; doubles per attempt.
SYNC_RETRY_BACKOFF = env.float("SYNC_RETRY_BACKOFF", default=1.0)
# The largest settlement file an import reads (megabytes); a larger one is refused before it is
# read, because a JSON document is parsed whole. 100,000 CSV lines are about 15 MB.
SETTLEMENT_MAX_MB = env.int("SETTLEMENT_MAX_MB", default=50)

# Seconds without a progress update after which a running job is taken to have lost its worker
# and is handed to another one (integrator.services.requeue_stalled_jobs).
SYNC_STALE_AFTER = env.int("SYNC_STALE_AFTER", default=180)

# --- Production security: safe by default whenever DEBUG is off ------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging: credentials never reach a log line ---------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "shops.redaction.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
