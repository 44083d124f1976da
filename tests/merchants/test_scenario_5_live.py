"""Scenario 5 end to end with the live engine: the merchant's offer (merchant API), the bank's
approval (review page), card transactions through the public ingest API, a real ``run_engine``
worker, the coupon, the redemption, and the merchant's report (merchant API)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 2

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> Any:
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.1)


def test_scenario_5_card_transactions_coupon_redemption_and_report(
    client: Any, api_as: Any, make_user: Any, engine_worker: Any, settings: Any
) -> None:
    from campaigns.models import Conversion, Coupon, Decision
    from campaigns.offers.delivery import deliveries_create, deliveries_send
    from merchants import services
    from merchants.demo import merchant_event_types_ensure
    from merchants.models import MerchantOffer
    from realtime.demo import demo_event_types_ensure
    from realtime.ingest import services as ingest

    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 1  # one customer here; the bank's default is 50
    demo_event_types_ensure()
    merchant_event_types_ensure()
    merchant = services.merchant_create(name="Gangnam Coffee", business_category="cafe")
    services.store_create(merchant=merchant, name="Yeoksam", region="Gangnam-gu",
                          latitude="37.500622", longitude="127.036456")  # fmt: skip
    other = services.merchant_create(name="Mapo Bakery")

    # the merchant designs the offer through the merchant API and submits it
    shop = api_as("merchant", merchant=merchant)
    today = dt.date.today()
    created = shop.post(
        "/api/v1/merchant/offers",
        {"title": "10% off", "discount_value": "10", "age_min": 20, "age_max": 39,
         "regions": ["Gangnam-gu"], "start_date": today.isoformat(),
         "end_date": (today + dt.timedelta(days=30)).isoformat(), "max_coupons": 500},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    offer_id = created.json()["id"]
    assert shop.post(f"/api/v1/merchant/offers/{offer_id}/submit").status_code == 200

    # a marketer approves it on the review page; the engine worker runs
    client.force_login(make_user("marketer"))
    approved = client.post(f"/merchant/review/{offer_id}/", {"decision": "approve"})
    assert approved.status_code == 302
    offer = MerchantOffer.objects.get(pk=offer_id)
    campaign = offer.campaign
    engine_worker()

    # profiles, then card transactions from the card switch through the public ingest API
    admin = api_as("admin")
    for customer, age in (("eligible", 25), ("too-old", 50), ("elsewhere", 30)):
        response = admin.put(f"/api/v1/customers/{customer}", {"traits": {"age": age}},
                             format="json")  # fmt: skip
        assert response.status_code in (200, 201), response.content
    _, key = ingest.source_create(name="card switch")

    def send(events: list[dict[str, object]]) -> None:
        # The ingest view is async; once a session's Playwright browser runs an event loop in
        # this thread, the test client must call it from another thread.
        with ThreadPoolExecutor(1) as pool:
            response = pool.submit(
                client.post,
                "/api/v1/events",
                data=orjson.dumps({"events": events}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
            ).result()
        assert response.status_code == 200, response.content

    now = time.time()
    send([
        {"event_id": "t1", "type": "card_transaction", "customer_id": "eligible",
         "timestamp": now, "attributes": {"amount": 4500, "merchant_id": str(other.pk),
                                          "region": "Gangnam-gu"}},
        {"event_id": "t2", "type": "card_transaction", "customer_id": "too-old",
         "timestamp": now, "attributes": {"amount": 9000, "merchant_id": str(other.pk),
                                          "region": "Gangnam-gu"}},
        {"event_id": "t3", "type": "card_transaction", "customer_id": "elsewhere",
         "timestamp": now, "attributes": {"amount": 3000, "merchant_id": str(other.pk),
                                          "region": "Mapo-gu"}},
    ])  # fmt: skip

    # then: the coupon decision for the eligible customer only
    decision = wait_until(
        lambda: Decision.objects.filter(campaign=campaign, outcome="offer").first(), 60
    )
    assert (decision.customer_id, decision.trigger_event_id) == ("eligible", "t1")
    # the dispatcher's step, in process: the delivery issues a coupon from the offer's pool
    deliveries_send(delivery_ids=deliveries_create(decision_ids=[str(decision.pk)]))
    coupon = Coupon.objects.get(decision=decision)
    assert (coupon.status, coupon.pool.offer_id) == ("issued", offer.offer_id)

    # a later card transaction at the merchant is the redemption (the campaign's conversion)
    send([
        {"event_id": "t4", "type": "card_transaction", "customer_id": "eligible",
         "timestamp": now + 5, "attributes": {"amount": 12000, "merchant_id": str(merchant.pk),
                                              "region": "Gangnam-gu"}},
    ])  # fmt: skip
    conversion = wait_until(lambda: Conversion.objects.filter(campaign=campaign).first(), 60)
    assert (conversion.decision_id, conversion.event_id) == (decision.pk, "t4")
    assert services.merchant_coupons_redeem() == 1
    coupon.refresh_from_db()
    assert coupon.status == "redeemed"
    assert Decision.objects.filter(campaign=campaign, outcome="offer").count() == 1
    assert not Decision.objects.filter(campaign=campaign, customer_id="too-old").exists()
    assert not Decision.objects.filter(campaign=campaign, customer_id="elsewhere").exists()

    # the merchant's report: counts and revenue, no customer
    report = shop.get("/api/v1/merchant/report")
    row = report.json()["offers"][0]
    assert (row["issued"], row["redeemed"], row["revenue"], row["discount_cost"]) == (
        1, 1, "12000", "1200"
    )  # fmt: skip
    assert "eligible" not in report.content.decode()
    # and another merchant sees none of it
    assert api_as("merchant", merchant=other).get("/api/v1/merchant/report").json()["offers"] == []
