"""Offers, pools, receipts and tracked links through the HTTP API and pages."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import override_settings

from campaigns.models import Coupon, Delivery, Offer
from campaigns.offers.delivery import deliveries_create
from campaigns.offers.demo import demo_offers_ensure
from campaigns.offers.selectors import customer_offer_list
from realtime.streams import event_stream_key, partition_of, redis_client

OFFER = {
    "name": "Coffee 10% off",
    "sms_body": "{{ customer.first_name }}: {{ coupon.code }}",
    "push_title": "Hi",
    "webhook_payload": {"code": "{{ coupon.code }}"},
}


def test_marketer_creates_an_offer_and_generates_a_pool(api_as: Any) -> None:
    api = api_as("marketer")
    created = api.post("/api/v1/offers", OFFER, format="json")
    assert created.status_code == 201, created.json()
    offer_id = created.json()["id"]
    assert created.json()["slug"] == "coffee-10-off"

    generated = api.post(
        f"/api/v1/offers/{offer_id}/pool/generate",
        {"pattern": "CAFE-####-##", "count": 50, "low_water_mark": 60},
        format="json",
    )
    assert generated.status_code == 200, generated.json()
    assert generated.json()["added"] == 50
    assert generated.json()["available"] == 50 and generated.json()["is_low"] is True
    codes = list(Coupon.objects.values_list("code", flat=True))
    assert len(set(codes)) == 50 and all(code.startswith("CAFE-") for code in codes)


@pytest.mark.parametrize(
    ("field", "template", "placeholder"),
    [
        ("sms_body", "{{ settings.SECRET_KEY }}", "settings.SECRET_KEY"),
        ("push_title", "{{ customer.password }}", "customer.password"),
        ("email_body", "{{ coupon.pool }}", "coupon.pool"),
    ],
)
def test_unknown_placeholder_is_refused_at_save_time_by_name(
    api_as: Any, field: str, template: str, placeholder: str
) -> None:
    response = api_as("marketer").post("/api/v1/offers", {**OFFER, field: template}, format="json")
    assert response.status_code == 400
    assert placeholder in " ".join(response.json()[field])
    assert not Offer.objects.exists()


def test_webhook_payload_placeholder_errors_name_the_path(api_as: Any) -> None:
    payload = {"outer": {"list": ["{{ os.environ }}"]}}
    response = api_as("marketer").post(
        "/api/v1/offers", {**OFFER, "webhook_payload": payload}, format="json"
    )
    assert response.status_code == 400
    assert "webhook_payload.outer.list[0]" in response.json()["webhook_payload"][0]


def test_upload_refuses_malformed_codes_and_skips_duplicates(api_as: Any) -> None:
    api = api_as("marketer")
    offer_id = api.post("/api/v1/offers", OFFER, format="json").json()["id"]
    bad = api.post(
        f"/api/v1/offers/{offer_id}/pool/upload",
        {"codes": ["GOOD-1", "=cmd|' /C calc'!A0"]},
        format="json",
    )
    assert bad.status_code == 400 and "codes" in bad.json()
    good = api.post(
        f"/api/v1/offers/{offer_id}/pool/upload",
        {"codes": ["A-100", "A-101", "A-100", ""]},
        format="json",
    )
    assert good.json()["added"] == 2 and good.json()["duplicates"] == 1


def test_analysts_read_offers_but_cannot_create_and_merchants_see_nothing(api_as: Any) -> None:
    assert api_as("analyst").get("/api/v1/offers").status_code == 200
    assert api_as("analyst").post("/api/v1/offers", OFFER, format="json").status_code == 403
    assert api_as("merchant").get("/api/v1/offers").status_code == 403


@pytest.fixture
def sent_delivery(make_offer: Any, make_decision: Any) -> Delivery:
    make_offer(codes=3)
    decision = make_decision("c-1", actions=[{"offer": "savings-signup", "channel": "sms"}])
    delivery = Delivery.objects.get(pk=deliveries_create(decision_ids=[str(decision.id)])[0])
    Delivery.objects.filter(pk=delivery.pk).update(status="sent", link_token="tok-123")
    return delivery


@override_settings(CDP_RECEIPTS_TOKEN="provider-secret")
def test_provider_receipts_move_a_delivery_forward_only(
    client: Any, sent_delivery: Delivery
) -> None:
    url = f"/api/v1/deliveries/{sent_delivery.pk}/receipts"
    headers = {"HTTP_AUTHORIZATION": "Bearer provider-secret"}

    delivered = client.post(
        url, {"status": "delivered"}, content_type="application/json", **headers
    )
    again = client.post(url, {"status": "delivered"}, content_type="application/json", **headers)
    wrong = client.post(
        url, {"status": "delivered"}, content_type="application/json", HTTP_AUTHORIZATION="Bearer x"
    )
    unknown = client.post(url, {"status": "opened"}, content_type="application/json", **headers)

    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    assert again.status_code == 200
    assert wrong.status_code in (401, 403)
    assert unknown.status_code == 400 and "status" in unknown.json()
    assert Delivery.objects.get(pk=sent_delivery.pk).delivered_at is not None


def test_tracked_link_redirects_and_records_a_click_event(
    client: Any, sent_delivery: Delivery
) -> None:
    response = client.get("/r/tok-123")

    assert response.status_code == 302
    assert response["Location"] == "https://bank.example/savings"
    assert Delivery.objects.get(pk=sent_delivery.pk).clicked_at is not None
    entries = redis_client().xrange(event_stream_key(partition_of("c-1")))
    event = orjson.loads(entries[-1][1][b"e"])
    assert event["type"] == "link_clicked" and event["customer_id"] == "c-1"
    assert event["attributes"]["delivery_id"] == sent_delivery.pk
    assert client.get("/r/unknown-token").status_code == 404


def test_dead_letters_retry_and_discard_in_the_browser(
    client_as: Any, sent_delivery: Delivery, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    Delivery.objects.filter(pk=sent_delivery.pk).update(status="dead", last_error="sms: HTTP 400")
    client = client_as("marketer")

    page = client.get("/campaigns/deliveries/dead-letters/")
    assert page.status_code == 200 and b"sms: HTTP 400" in page.content
    discarded = client.post(f"/campaigns/deliveries/{sent_delivery.pk}/discard/")

    assert discarded.status_code == 302
    assert Delivery.objects.get(pk=sent_delivery.pk).status == "discarded"
    assert b"No dead letters" in client.get("/campaigns/deliveries/dead-letters/").content


def test_offer_pages_and_preview_render_a_sample_customer(client_as: Any, make_offer: Any) -> None:
    offer = make_offer(codes=2, low_water_mark=10)
    client = client_as("marketer")
    assert b"Savings sign-up coupon" in client.get("/campaigns/offers/").content
    detail = client.get(f"/campaigns/offers/{offer.pk}/")
    assert detail.status_code == 200 and b"pool-low" in detail.content
    preview = client.post(
        f"/campaigns/offers/{offer.pk}/preview/",
        {"first_name": "<script>x</script>"},
        HTTP_HX_REQUEST="true",
    )
    assert b"&lt;script&gt;x&lt;/script&gt;" in preview.content
    assert b"<script>x" not in preview.content


def test_offer_form_refuses_unknown_placeholder(client_as: Any) -> None:
    client = client_as("marketer")
    response = client.post(
        "/campaigns/offers/new/",
        {"name": "X", "sms_body": "{{ settings.SECRET_KEY }}", "per_customer_limit": 1},
    )
    assert response.status_code == 200
    assert b"settings.SECRET_KEY" in response.content
    assert not Offer.objects.exists()


def test_customer_offer_list_and_demo_offers(make_decision: Any, db: None) -> None:
    offers = demo_offers_ensure()
    assert demo_offers_ensure() == offers  # idempotent
    assert {offer.slug for offer in offers} >= {"savings-signup-coupon", "coffee-10-off"}
    assert Coupon.objects.filter(pool__offer__slug="coffee-10-off").count() == 500
    decision = make_decision(
        "c-5", actions=[{"offer": "coffee-10-off", "channel": "push"}, {"set_profile": {"a": 1}}]
    )
    deliveries_create(decision_ids=[str(decision.id)])
    listed = list(customer_offer_list("c-5"))
    assert [delivery.offer.slug for delivery in listed] == ["coffee-10-off"]
