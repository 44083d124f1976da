"""The Celery app: delivery and import tasks, with Redis as the broker."""

import gc
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.dev")

app = Celery("cdp_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_tidy(task: object = None, **_: object) -> None:
    """With ``CELERY_DB_REUSE_MAX`` connections outlive a task: close the ones that broke or
    passed ``CONN_MAX_AGE``, as Django does around each request.

    Not for an eager task: it runs inside its caller (a request, a test) and in the caller's
    transaction, whose connection is the caller's to manage."""
    request = getattr(task, "request", None)
    if getattr(request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
@worker_process_init.connect
def _garbage_collector_settle(**_: object) -> None:
    """Django, Celery and their imports are a few hundred thousand long-lived objects that every
    full collection walks again (about a third of a delivery batch's CPU, measured): move what
    exists once the worker (or a prefork child) is up out of the collector's sight."""
    gc.collect()
    gc.freeze()
