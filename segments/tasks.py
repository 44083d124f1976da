"""Celery entry points of segments: load by id, call one service."""

from __future__ import annotations

from celery import shared_task

from segments import services
from segments.models import CustomerImport


@shared_task(acks_late=True)
def customer_import_run_task(customer_import_id: int) -> None:
    customer_import = CustomerImport.objects.filter(pk=customer_import_id).first()
    if customer_import is None or customer_import.status == CustomerImport.Status.DONE:
        return  # idempotent: a re-delivered task does not import twice
    services.customer_import_run(customer_import=customer_import)
