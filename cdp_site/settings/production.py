"""Production: every secret and address comes from the environment, or start-up stops.

https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

import os

from cdp_site.settings.base import *  # noqa: F403
from cdp_site.settings.base import environment_flag, environment_value

DEBUG = environment_flag("DJANGO_DEBUG", default=False)
SECRET_KEY = environment_value("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = environment_value("DJANGO_ALLOWED_HOSTS").split(",")
DATABASE_URL = environment_value("DATABASE_URL")
REDIS_URL = environment_value("REDIS_URL")

SECURE_SSL_REDIRECT = environment_flag("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
