"""Celery entry points of merchant offers (run by beat): call one service each."""

from __future__ import annotations

from celery import shared_task

from merchants import services


@shared_task(ignore_result=True)
def merchant_coupons_redeem_task() -> None:
    services.merchant_coupons_redeem()


@shared_task(ignore_result=True)
def merchant_offer_pacing_apply_task() -> None:
    services.merchant_offer_pacing_apply()
