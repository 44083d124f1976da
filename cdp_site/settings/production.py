"""Production: every secret and address comes from the environment, or start-up stops.

``manage.py check --deploy`` passes with these settings (tests/cdp_site/test_deploy_checks.py).
https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
"""

import os

from cdp_site.settings.base import *  # noqa: F403
from cdp_site.settings.base import environment_flag, environment_value

# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = environment_flag("DJANGO_DEBUG", default=False)
# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key (50+ random characters)
SECRET_KEY = environment_value("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = environment_value("DJANGO_ALLOWED_HOSTS").split(",")
DATABASE_URL = environment_value("DATABASE_URL")
REDIS_URL = environment_value("REDIS_URL")

# Plain HTTP is redirected to HTTPS; turn off only where the proxy redirects already.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-ssl-redirect
SECURE_SSL_REDIRECT = environment_flag("DJANGO_SECURE_SSL_REDIRECT", default=True)
# TLS ends at the reverse proxy, which must set (and overwrite) X-Forwarded-Proto.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# https://docs.djangoproject.com/en/5.2/ref/settings/#session-cookie-secure
SESSION_COOKIE_SECURE = True
# https://docs.djangoproject.com/en/5.2/ref/settings/#csrf-cookie-secure
CSRF_COOKIE_SECURE = True
# Browsers refuse plain HTTP for a year once they saw HTTPS; start low when first deploying.
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-hsts-include-subdomains
SECURE_HSTS_INCLUDE_SUBDOMAINS = environment_flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-hsts-preload
SECURE_HSTS_PRELOAD = environment_flag("DJANGO_HSTS_PRELOAD", default=True)
# https://docs.djangoproject.com/en/5.2/ref/middleware/#x-content-type-options-nosniff
SECURE_CONTENT_TYPE_NOSNIFF = True
# https://docs.djangoproject.com/en/5.2/ref/middleware/#referrer-policy
SECURE_REFERRER_POLICY = "same-origin"
# https://docs.djangoproject.com/en/5.2/ref/middleware/#cross-origin-opener-policy
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
