"""The merchant API: same rules as the portal, scoped to the caller's merchant."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Conversion, Decision
from merchants import services
from merchants.models import Merchant, MerchantOffer

API = "/api/v1/merchant"


def _body(**overrides: Any) -> dict[str, Any]:
    start = dt.date.today() + dt.timedelta(days=1)
    body: dict[str, Any] = {
        "title": "10% off",
        "discount_kind": "percent",
        "discount_value": "10",
        "age_min": 20,
        "age_max": 39,
        "regions": ["Gangnam-gu"],
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=30)).isoformat(),
        "max_coupons": 500,
    }
    body.update(overrides)
    return body


def test_create_offer_and_submit(merchant_a: Merchant, api_as: Callable[..., APIClient]) -> None:
    api = api_as("merchant", merchant=merchant_a)
    created = api.post(f"{API}/offers", _body(), format="json")
    assert created.status_code == 201, created.json()
    offer_id = created.json()["id"]
    submitted = api.post(f"{API}/offers/{offer_id}/submit", {}, format="json")
    assert submitted.json()["status"] == "pending"
    events = api.get(f"{API}/offers/{offer_id}/events").json()["results"]
    assert [event["action"] for event in events] == ["submitted", "created"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"discount_value": "51"}, "discount_value"),
        ({"regions": ["Mapo-gu"]}, "regions"),
        ({"start_date": "2020-01-01", "end_date": "2020-01-31"}, "start_date"),
        ({"max_coupons": 0}, "max_coupons"),
        ({"regions": []}, "regions"),
    ],
)
def test_bounds_are_refused_with_the_field_named(
    merchant_a: Merchant, api_as: Callable[..., APIClient], overrides: dict[str, Any], field: str
) -> None:
    response = api_as("merchant", merchant=merchant_a).post(
        f"{API}/offers", _body(**overrides), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert response.json()["error"] == response.json()["errors"][field][0]
    assert MerchantOffer.objects.count() == 0


def test_token_authentication_for_a_merchant_user(
    merchant_a: Merchant, make_user: Callable[..., Any]
) -> None:
    user = make_user("merchant", merchant=merchant_a)
    token = services.merchant_api_token_rotate(user=user)
    api = APIClient()
    assert api.get(f"{API}/offers").status_code in (401, 403)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get(f"{API}/stores").json()["results"][0]["region"] == "Gangnam-gu"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "offers/{id}"),
        ("put", "offers/{id}"),
        ("post", "offers/{id}/submit"),
        ("post", "offers/{id}/pause"),
        ("post", "offers/{id}/resume"),
        ("get", "offers/{id}/events"),
        ("get", "report?offer={id}"),
    ],
)
def test_merchant_b_gets_404_for_merchant_a_offers(
    merchant_a: Merchant, merchant_b: Merchant, make_offer: Callable[..., Any],
    api_as: Callable[..., APIClient], method: str, path: str,
) -> None:  # fmt: skip
    offer = make_offer(merchant_a, status="live")
    intruder = api_as("merchant", merchant=merchant_b)
    url = f"{API}/{path.format(id=offer.pk)}"
    if method == "get":
        response = intruder.get(url)
    else:
        response = getattr(intruder, method)(url, _body(), format="json")
    assert response.status_code == 404
    offer.refresh_from_db()
    assert offer.status == "live"


def test_lists_hold_only_own_offers_and_stores(
    merchant_a: Merchant, merchant_b: Merchant, make_offer: Callable[..., Any],
    api_as: Callable[..., APIClient],
) -> None:  # fmt: skip
    make_offer(merchant_a, title="A's")
    make_offer(merchant_b, title="B's", regions=("Mapo-gu",))
    api = api_as("merchant", merchant=merchant_b)
    assert [o["title"] for o in api.get(f"{API}/offers").json()["results"]] == ["B's"]
    assert [s["name"] for s in api.get(f"{API}/stores").json()["results"]] == ["Hapjeong"]


def test_bank_roles_are_not_merchants(api_as: Callable[..., APIClient]) -> None:
    assert api_as("marketer").get(f"{API}/offers").status_code == 403
    assert api_as("analyst").get(f"{API}/report").status_code == 403


def _history(offer: MerchantOffer, *, issued: int, redeemed: int) -> None:
    now = timezone.now()
    decisions = [
        Decision(id=uuid.uuid4(), campaign_id=offer.campaign_id, version=1,
                 customer_id=f"SECRET-CUSTOMER-{n:04}", trigger_event_id=f"t{n}",
                 outcome="offer", occurred_at=now - dt.timedelta(hours=2))
        for n in range(issued)
    ]  # fmt: skip
    Decision.objects.bulk_create(decisions)
    Conversion.objects.bulk_create(
        [Conversion(decision=d, campaign_id=offer.campaign_id, customer_id=d.customer_id,
                    event_id=f"pay-{n}", revenue=Decimal("5000"), occurred_at=now)
         for n, d in enumerate(decisions[:redeemed])]
    )  # fmt: skip


def test_report_shows_aggregates_only_and_suppresses_small_groups(
    merchant_a: Merchant, make_offer: Callable[..., Any], api_as: Callable[..., APIClient],
    settings: Any,
) -> None:  # fmt: skip
    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 5
    offer = make_offer(merchant_a, status="live")
    _history(offer, issued=12, redeemed=3)
    api = api_as("merchant", merchant=merchant_a)
    small = api.get(f"{API}/report").json()
    assert small["offers"][0]["issued"] == 12
    assert small["offers"][0]["redeemed"] is None  # 3 < 5: withheld, and so is its revenue
    assert small["offers"][0]["revenue"] is None
    _history(offer, issued=0, redeemed=0)
    Conversion.objects.bulk_create(
        [Conversion(decision=d, campaign_id=offer.campaign_id, customer_id=d.customer_id,
                    event_id="pay-late", revenue=Decimal("4000"), occurred_at=timezone.now())
         for d in Decision.objects.filter(conversions__isnull=True)[:3]]
    )  # fmt: skip
    full = api.get(f"{API}/report").json()
    row = full["offers"][0]
    assert (row["issued"], row["redeemed"], row["redemption_rate"]) == (12, 6, 0.5)
    assert (row["revenue"], row["discount_cost"]) == ("27000", "2700")
    for response in (api.get(f"{API}/report"), api_as("merchant", merchant=merchant_a).get(
            f"{API}/offers/{offer.pk}/events")):  # fmt: skip
        assert "SECRET-CUSTOMER" not in response.content.decode()


def test_report_page_and_csv_never_name_a_customer(
    merchant_a: Merchant, make_offer: Callable[..., Any], client_as: Callable[..., Any],
    settings: Any,
) -> None:  # fmt: skip
    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 2
    offer = make_offer(merchant_a, status="live")
    _history(offer, issued=4, redeemed=2)
    client = client_as("merchant", merchant=merchant_a)
    for url in ("/merchant/reports/", "/merchant/reports.csv", f"/merchant/offers/{offer.pk}/",
                "/merchant/"):  # fmt: skip
        body = client.get(url).content.decode()
        assert "SECRET-CUSTOMER" not in body, url
    csv_body = client.get("/merchant/reports.csv").content.decode()
    assert f"{offer.pk},10% off,live,4,2,0.5,10000,1000" in csv_body


def test_marketer_reviews_through_the_api(
    merchant_a: Merchant, make_offer: Callable[..., Any], api_as: Callable[..., APIClient]
) -> None:
    offer = make_offer(merchant_a, status="pending")
    marketer = api_as("marketer")
    listed = marketer.get(f"{API}/review").json()["results"]
    assert [(o["id"], o["merchant"]) for o in listed] == [(offer.pk, merchant_a.name)]
    refused = marketer.post(f"{API}/review/{offer.pk}/reject", {"comment": ""}, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["comment"]
    approved = marketer.post(f"{API}/review/{offer.pk}/approve", {}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "live" and approved.json()["campaign"] is not None
    again = marketer.post(f"{API}/review/{offer.pk}/approve", {}, format="json")
    assert again.status_code == 409


def test_merchant_cannot_use_the_review_api(
    merchant_a: Merchant, make_offer: Callable[..., Any], api_as: Callable[..., APIClient]
) -> None:
    offer = make_offer(merchant_a, status="pending")
    shop = api_as("merchant", merchant=merchant_a)
    assert shop.get(f"{API}/review").status_code == 403
    assert shop.post(f"{API}/review/{offer.pk}/approve", {}, format="json").status_code == 403
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_report_compares_with_the_control_group_when_the_offer_has_one(
    merchant_a: Merchant, make_offer: Callable[..., Any], api_as: Callable[..., APIClient],
    settings: Any,
) -> None:  # fmt: skip
    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 2
    settings.CDP_MERCHANT_HOLDOUT = 0.1
    offer = make_offer(merchant_a, status="live")
    assert offer.campaign.live_version.spec["guards"]["holdout"] == 0.1
    _history(offer, issued=10, redeemed=5)
    now = timezone.now()
    control = [
        Decision(id=uuid.uuid4(), campaign_id=offer.campaign_id, version=1,
                 customer_id=f"SECRET-CONTROL-{n}", trigger_event_id=f"h{n}",
                 outcome="held_out", occurred_at=now)
        for n in range(4)
    ]  # fmt: skip
    Decision.objects.bulk_create(control)
    Conversion.objects.bulk_create(
        [Conversion(decision=d, campaign_id=offer.campaign_id, customer_id=d.customer_id,
                    event_id=f"c-{n}", revenue=Decimal("3000"), occurred_at=now)
         for n, d in enumerate(control[:2])]
    )  # fmt: skip
    response = api_as("merchant", merchant=merchant_a).get(f"{API}/report")
    row = response.json()["offers"][0]
    assert (row["issued"], row["redemption_rate"], row["control"], row["control_rate"]) == (
        10, 0.5, 4, 0.5
    )  # fmt: skip
    assert row["revenue"] == "25000"  # the control group's purchases are not the offer's revenue
    assert "SECRET-CONTROL" not in response.content.decode()


def test_report_by_store_from_the_archived_card_transactions(
    merchant_a: Merchant, merchant_b: Merchant, make_offer: Callable[..., Any],
    api_as: Callable[..., APIClient], settings: Any,
) -> None:  # fmt: skip
    import orjson
    from django.db import connection

    from realtime.ingest.archive import archive_partitions_ensure

    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 2
    offer = make_offer(merchant_a, status="live")
    _history(offer, issued=6, redeemed=5)
    store = merchant_a.stores.get()
    foreign = merchant_b.stores.get()
    conversions = list(Conversion.objects.order_by("event_id"))
    archive_partitions_ensure({c.occurred_at.astimezone(dt.UTC).date() for c in conversions})
    where = [str(store.pk)] * 3 + [str(foreign.pk)] + [None]
    with connection.cursor() as cursor:
        for conversion, store_id in zip(conversions, where, strict=True):
            attributes = {"amount": 5000, **({"store_id": store_id} if store_id else {})}
            cursor.execute(
                "INSERT INTO realtime_event_archive (event_id, type, customer_id, ts, attributes,"
                " received_at, stream_partition, stream_id) VALUES (%s, 'card_transaction', %s,"
                " %s, %s::jsonb, now(), 0, '0-1')",
                [conversion.event_id, conversion.customer_id, conversion.occurred_at,
                 orjson.dumps(attributes).decode()],
            )  # fmt: skip
    stores = api_as("merchant", merchant=merchant_a).get(f"{API}/report").json()["stores"]
    # another merchant's store id is not this merchant's store: it counts as unknown
    assert stores == [
        {"store": store.pk, "name": "Yeoksam", "redeemed": 3, "revenue": "15000"},
        {"store": None, "name": "Store not known", "redeemed": 2, "revenue": "10000"},
    ]
