"""Settings shared by every environment, driven by environment variables (12-factor)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def environment_value(name: str, default: str | None = None) -> str:
    """A required setting: production start-up stops here, naming the missing variable."""
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ImproperlyConfigured(
            f"The environment variable {name} is required in this mode but is not set."
        )
    return value


def environment_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = environment_flag("DJANGO_DEBUG")
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "channels",
    "segments",
    "merchants",
    "campaigns",
    "campaigns.dashboards",
    "realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cdp_site.middleware.RejectNulCharactersMiddleware",
    "cdp_site.static_files.AsyncWhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "cdp_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # django-template-partials: {% partialdef %} everywhere, as in Django 6.
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cdp_site.roles.role_context",
            ],
        },
    },
]

ASGI_APPLICATION = "cdp_site.asgi.application"
WSGI_APPLICATION = "cdp_site.wsgi.application"

DATABASE_URL = environment_value("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cdp")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = environment_value("REDIS_URL", "redis://127.0.0.1:6379/0")
# Every Redis key the platform writes starts with this; tests give each test its own.
CDP_KEY_PREFIX = os.environ.get("CDP_KEY_PREFIX", "cdp:")
# Partitions of the event stream: fixed at deploy; one customer always maps to one partition.
CDP_PARTITIONS = int(os.environ.get("CDP_PARTITIONS", "16"))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cdp-cache",
    }
}

# The channel layer is at-most-once: live UI pushes only (see shared/RELIABILITY.md).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "cdp-channels:"},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("CDP_TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None  # collectstatic target in production
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve from the source folders without collectstatic, for the dev runner and the tests.
WHITENOISE_USE_FINDERS = True

# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON text PostgreSQL cannot store (NUL, lone surrogates) is a 400 naming its path.
    "DEFAULT_PARSER_CLASSES": [
        "cdp_site.api.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cdp_site.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Real-time CDP API",
    "DESCRIPTION": "Events in, campaigns, offers, decisions and their figures out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# DRF historically ignored this limit when parsing JSON; ingest also checks the length itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024 + 64 * 1024

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-acks-late
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
# Celery's Django fixup closes every database connection before and after each task unless this
# is set: a new PostgreSQL backend per delivery batch. Reused instead (recycled every 2N tasks);
# cdp_site.celery drops a broken or CONN_MAX_AGE-old connection at task boundaries as requests do.
CELERY_DB_REUSE_MAX = int(os.environ.get("CDP_CELERY_DB_REUSE_MAX", "1000"))
CELERY_TIMEZONE = TIME_ZONE
# A message a worker took but never acknowledged (the worker was killed, its whole process group
# with it) goes back to the queue after the visibility timeout; a countdown longer than it runs
# twice, so delivery countdowns are capped below it (campaigns.offers.delivery). Lowering it
# speeds up recovery, but any task running longer than it is handed to a second worker.
# https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
CDP_CELERY_VISIBILITY_TIMEOUT_S = float(os.environ.get("CDP_CELERY_VISIBILITY_TIMEOUT_S", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CDP_CELERY_VISIBILITY_TIMEOUT_S,
    # kombu scans for such messages every interval * throttle seconds (10 * 10 by default).
    "unacked_restore_interval": int(os.environ.get("CDP_CELERY_RESTORE_INTERVAL_S", "10")),
    "unacked_restore_throttle": int(os.environ.get("CDP_CELERY_RESTORE_THROTTLE", "10")),
}

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CDP_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Event collection (realtime.ingest). Dedupe window for event ids: at least 24 h.
CDP_DEDUPE_SECONDS = int(os.environ.get("CDP_DEDUPE_SECONDS", str(25 * 3600)))
# A revoked source key stops working within this many seconds in every web process.
CDP_SOURCE_CACHE_SECONDS = float(os.environ.get("CDP_SOURCE_CACHE_SECONDS", "5"))
# Archive partitions (one per day) older than this are dropped by `manage.py run_archiver`.
CDP_ARCHIVE_RETENTION_DAYS = int(os.environ.get("CDP_ARCHIVE_RETENTION_DAYS", "90"))
# Stream entries stay at least this long (and until every consumer group acknowledged them).
CDP_STREAM_KEEP_SECONDS = int(os.environ.get("CDP_STREAM_KEEP_SECONDS", "3600"))

# --- offers and delivery (campaigns.offers, realtime.delivery) -----------------------------
# Channel backends per deployment; a channel without a URL fails over to the fallback channel.
CDP_CHANNELS: dict[str, dict[str, object]] = {
    "webhook": {
        "BACKEND": "realtime.delivery.webhook.WebhookBackend",
        "URL": os.environ.get("CDP_WEBHOOK_URL", ""),
        "SECRET": os.environ.get("CDP_WEBHOOK_SECRET", SECRET_KEY),
        "CONCURRENCY": int(os.environ.get("CDP_WEBHOOK_CONCURRENCY", "16")),
        "TIMEOUT": float(os.environ.get("CDP_WEBHOOK_TIMEOUT_S", "5")),
        "RATE_PER_S": float(os.environ.get("CDP_WEBHOOK_RATE_PER_S", "0")),
    },
    "sms": {
        "BACKEND": "realtime.delivery.sms.TwilioSmsBackend",
        "URL": os.environ.get("CDP_SMS_URL", ""),
        "ACCOUNT_SID": os.environ.get("CDP_SMS_ACCOUNT_SID", ""),
        "AUTH_TOKEN": os.environ.get("CDP_SMS_AUTH_TOKEN", ""),
        "FROM": os.environ.get("CDP_SMS_FROM", ""),
        "RATE_PER_S": float(os.environ.get("CDP_SMS_RATE_PER_S", "0")),
    },
    "push": {
        "BACKEND": os.environ.get("CDP_PUSH_BACKEND", "realtime.delivery.push.FcmPushBackend"),
        "URL": os.environ.get("CDP_PUSH_URL", ""),
        "TOKEN": os.environ.get("CDP_PUSH_TOKEN", ""),
        "VAPID_PRIVATE_KEY": os.environ.get("CDP_VAPID_PRIVATE_KEY", ""),
        "VAPID_SUBJECT": os.environ.get("CDP_VAPID_SUBJECT", "mailto:ops@example.invalid"),
        "RATE_PER_S": float(os.environ.get("CDP_PUSH_RATE_PER_S", "0")),
    },
    "email": {
        "BACKEND": "realtime.delivery.email.EmailBackend",
        "FROM": os.environ.get("CDP_EMAIL_FROM", "offers@example.invalid"),
        "RATE_PER_S": float(os.environ.get("CDP_EMAIL_RATE_PER_S", "0")),
    },
    "staff": {"BACKEND": "realtime.delivery.staff.StaffConsoleBackend"},
}
# Django's email backend: SMTP by default; any django-anymail backend by name (with its keys).
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = environment_flag("DJANGO_EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
# Where tracked links point ({{ link }} → <CDP_PUBLIC_URL>/r/<token>).
CDP_PUBLIC_URL = os.environ.get("CDP_PUBLIC_URL", "http://127.0.0.1:8000")
# Bearer token providers use for POST /api/v1/deliveries/<id>/receipts.
CDP_RECEIPTS_TOKEN = os.environ.get("CDP_RECEIPTS_TOKEN", "")
# Temporary failures on one channel before the fallback channel is tried.
CDP_DELIVERY_FALLBACK_AFTER = int(os.environ.get("CDP_DELIVERY_FALLBACK_AFTER", "3"))
CDP_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("CDP_DELIVERY_MAX_ATTEMPTS", "8"))
# Backoff: base * 2**(attempt-1) seconds, capped far below the broker's visibility timeout.
CDP_DELIVERY_BACKOFF_BASE_S = float(os.environ.get("CDP_DELIVERY_BACKOFF_BASE_S", "2"))
CDP_DELIVERY_BACKOFF_MAX_S = float(os.environ.get("CDP_DELIVERY_BACKOFF_MAX_S", "300"))
# A delivery claimed longer ago than this by a worker that died is claimed again (and sent again
# with the same Idempotency-Key). A batch starts no send later than lease - channel TIMEOUT after
# its claim, so a live worker's sends never overlap a second claim.
CDP_DELIVERY_SENDING_LEASE_S = float(os.environ.get("CDP_DELIVERY_SENDING_LEASE_S", "60"))
# How often run_dispatcher re-enqueues deliveries whose claim expired or whose task was lost.
CDP_DELIVERY_SWEEP_EVERY_S = float(os.environ.get("CDP_DELIVERY_SWEEP_EVERY_S", "15"))
# Deliveries per Celery task at most (the dispatcher batches what it read; see bench/delivery.py:
# one task per delivery would cap the pipeline at Celery's ~600 tasks/s on this machine).
CDP_DELIVERY_BATCH = int(os.environ.get("CDP_DELIVERY_BATCH", "250"))
# Teams whose console shows notify_staff messages as pop-ups (tellers) rather than tasks.
CDP_STAFF_POPUP_TEAMS = [
    team for team in os.environ.get("CDP_STAFF_POPUP_TEAMS", "tellers").split(",") if team
]
# The queue delivery tasks go to (tests and benchmarks give each run its own).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CDP_CELERY_QUEUE", "celery")
CELERY_BEAT_SCHEDULE = {
    "merchant-coupons-redeem": {
        "task": "merchants.tasks.merchant_coupons_redeem_task",
        "schedule": 60.0,
    },
    "merchant-offer-pacing": {
        "task": "merchants.tasks.merchant_offer_pacing_apply_task",
        "schedule": 60.0,
    },
    "deliveries-stuck-requeue": {
        "task": "campaigns.tasks.deliveries_requeue_stuck_task",
        "schedule": 30.0,
    },
}

# Merchant self-service offers (issue 9): the bank's bounds on what a merchant may design.
CDP_MERCHANT_PERCENT_MIN = float(os.environ.get("CDP_MERCHANT_PERCENT_MIN", "5"))
CDP_MERCHANT_PERCENT_MAX = float(os.environ.get("CDP_MERCHANT_PERCENT_MAX", "50"))
CDP_MERCHANT_AMOUNT_MIN = int(os.environ.get("CDP_MERCHANT_AMOUNT_MIN", "1000"))
CDP_MERCHANT_AMOUNT_MAX = int(os.environ.get("CDP_MERCHANT_AMOUNT_MAX", "50000"))
CDP_MERCHANT_MAX_COUPONS = int(os.environ.get("CDP_MERCHANT_MAX_COUPONS", "100000"))
CDP_MERCHANT_MAX_RADIUS_M = int(os.environ.get("CDP_MERCHANT_MAX_RADIUS_M", "5000"))
CDP_MERCHANT_IMAGE_MAX_BYTES = int(os.environ.get("CDP_MERCHANT_IMAGE_MAX_BYTES", str(1024 * 1024)))
# Reach estimates and merchant reports never show a group smaller than this (k-anonymity).
CDP_MERCHANT_MIN_GROUP_SIZE = int(os.environ.get("CDP_MERCHANT_MIN_GROUP_SIZE", "50"))
# Share of each merchant offer's audience held out as a control group (0 = none), so that the
# merchant's report can compare redemptions with customers who got no coupon.
CDP_MERCHANT_HOLDOUT = float(os.environ.get("CDP_MERCHANT_HOLDOUT", "0"))
# Customer groups the bank exposes to merchants: value of the `segment_tier` profile trait → label.
CDP_MERCHANT_SEGMENTS = {
    "young_professional": _("Young professionals"),
    "family": _("Families"),
    "premium": _("Premium card holders"),
    "student": _("Students"),
}

# --- campaign dashboards (campaigns.dashboards) -----------------------------------------------
# Cost of one sent message per channel, in the coupons' currency (ROI = (revenue - cost) / cost).
# Override as "sms=20,push=0.5,email=1".
CDP_CHANNEL_COST: dict[str, float] = {
    channel: float(cost)
    for channel, _, cost in (
        item.partition("=")
        for item in os.environ.get(
            "CDP_CHANNEL_COST", "sms=20,push=0.5,email=1,webhook=0,staff=0"
        ).split(",")
        if "=" in item
    )
}
# The rollup reads rows this many seconds behind "now", so transactions in flight land first.
CDP_DASHBOARD_ROLLUP_LAG_S = float(os.environ.get("CDP_DASHBOARD_ROLLUP_LAG_S", "5"))
CELERY_BEAT_SCHEDULE["dashboards-rollup"] = {
    "task": "campaigns.dashboards.tasks.dashboard_rollup_task",
    "schedule": float(os.environ.get("CDP_DASHBOARD_ROLLUP_EVERY_S", "10")),
}
# The outlier alert needs this many sends (or offers) both in the last hour and the day before.
CDP_DASHBOARD_ALERT_MIN_VOLUME = int(os.environ.get("CDP_DASHBOARD_ALERT_MIN_VOLUME", "50"))
