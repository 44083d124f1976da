"""Celery entry points of the delivery pipeline: load by id, call one service.

Every task is idempotent on its delivery rows (check-and-set in ``campaigns.offers.delivery``),
so at-least-once execution (``acks_late`` + ``reject_on_worker_lost``) never sends twice.
"""

from __future__ import annotations

from celery import shared_task

from campaigns.estimates import audience_estimate_task  # noqa: F401  - the worker finds it here
from campaigns.offers import delivery


@shared_task(ignore_result=True)
def deliveries_send_task(delivery_ids: list[int]) -> None:
    outcome = delivery.deliveries_send(delivery_ids=delivery_ids)
    delivery.deliveries_retry_schedule(outcome)


@shared_task(ignore_result=True)
def deliver_decision_task(decision_id: str) -> None:
    outcome = delivery.decision_deliver(decision_id=decision_id)
    delivery.deliveries_retry_schedule(outcome)


@shared_task(ignore_result=True)
def deliveries_requeue_stuck_task() -> None:
    delivery.deliveries_requeue_stuck()
