"""Fixtures for merchant tests: two merchants with stores, and a valid offer to vary."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from merchants import services
from merchants.models import Merchant, MerchantOffer


def offer_input(**overrides: Any) -> services.OfferInput:
    """Scenario 5's offer, starting tomorrow so that it is never in the past."""
    start = dt.date.today() + dt.timedelta(days=1)
    values = services.OfferInput(
        title="10% off",
        description="Any drink, any size.",
        discount_kind="percent",
        discount_value=Decimal("10"),
        age_min=20,
        age_max=39,
        regions=("Gangnam-gu",),
        start_date=start,
        end_date=start + dt.timedelta(days=30),
        max_coupons=500,
        trigger="card_transaction_in_region",
    )
    return dataclasses.replace(values, **overrides)


@pytest.fixture
def valid_input() -> Callable[..., services.OfferInput]:
    return offer_input


@pytest.fixture
def merchant_a(db: None) -> Merchant:
    merchant = services.merchant_create(name="Gangnam Coffee A", business_category="cafe")
    services.store_create(merchant=merchant, name="Yeoksam", region="Gangnam-gu",
                          latitude="37.500600", longitude="127.036400")  # fmt: skip
    return merchant


@pytest.fixture
def merchant_b(db: None) -> Merchant:
    merchant = services.merchant_create(name="Mapo Bakery B", business_category="bakery")
    services.store_create(merchant=merchant, name="Hapjeong", region="Mapo-gu",
                          latitude="37.549500", longitude="126.913700")  # fmt: skip
    return merchant


@pytest.fixture
def make_offer(make_user: Callable[..., Any]) -> Callable[..., MerchantOffer]:
    """A draft (or, with ``status``, a pending or live) offer of ``merchant``."""

    def create(merchant: Merchant, *, status: str = "draft", **overrides: Any) -> MerchantOffer:
        author = make_user("merchant", merchant=merchant)
        offer = services.merchant_offer_create(
            merchant=merchant, user=author, values=offer_input(**overrides)
        )
        if status in ("pending", "live"):
            offer = services.merchant_offer_submit(offer=offer, user=author)
        if status == "live":
            offer = services.merchant_offer_approve(offer=offer, user=make_user("marketer"))
        return offer

    return create
