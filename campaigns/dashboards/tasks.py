"""Celery entry points of the dashboards: load nothing, call one service."""

from __future__ import annotations

from celery import shared_task

from campaigns.dashboards import services


@shared_task(ignore_result=True)
def dashboard_rollup_task() -> None:
    services.rollup_refresh()
