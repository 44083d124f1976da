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
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "channels",
    "segments",
    "merchants",
    "campaigns",
    "realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
CELERY_TIMEZONE = TIME_ZONE

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
