"""The test suite: ``make test``."""

from cdp_site.settings.base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
CELERY_TASK_ALWAYS_EAGER = False
