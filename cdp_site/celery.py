"""The Celery app: delivery and import tasks, with Redis as the broker."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.dev")

app = Celery("cdp_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
