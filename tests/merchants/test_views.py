"""The merchant portal, the marketer's review and the admin pages, through HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from campaigns.models import CampaignStatus
from merchants.models import Merchant, MerchantOffer
from segments.models import Customer


def _builder_post(**overrides: Any) -> dict[str, Any]:
    start = dt.date.today() + dt.timedelta(days=1)
    data: dict[str, Any] = {
        "title": "10% off",
        "description": "Any drink",
        "discount_kind": "percent",
        "discount_value": "10",
        "age_min": "20",
        "age_max": "39",
        "gender": "any",
        "trigger": "card_transaction_in_region",
        "area_kind": "regions",
        "regions": ["Gangnam-gu"],
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=30)).isoformat(),
        "max_coupons": "500",
        "valid_days": "7",
        "then": "save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_merchant_designs_and_submits_an_offer(
    merchant_a: Merchant, client_as: Callable[..., Client]
) -> None:
    client = client_as("merchant", merchant=merchant_a)
    assert client.get(reverse("merchants:offer_create")).status_code == 200
    response = client.post(reverse("merchants:offer_create"), _builder_post(then="submit"))
    offer = MerchantOffer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("merchants:offer", args=[offer.pk])
    assert (offer.status, offer.merchant_id, offer.regions) == ("pending", merchant_a.pk,
                                                                 ["Gangnam-gu"])  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for the bank" in page and "Submitted for approval" in page


def test_builder_shows_the_error_next_to_the_field(
    merchant_a: Merchant, client_as: Callable[..., Client]
) -> None:
    client = client_as("merchant", merchant=merchant_a)
    response = client.post(
        reverse("merchants:offer_create"),
        _builder_post(discount_value="75", regions=None, end_date="2020-01-01"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="error-discount_value"' in page and "you entered 75%" in page
    assert 'data-testid="error-regions"' in page and "choose at least one region" in page
    assert 'data-testid="error-end_date"' in page
    assert MerchantOffer.objects.count() == 0


def test_offer_texts_are_shown_inert(
    merchant_a: Merchant, client_as: Callable[..., Client], make_user: Callable[..., Any]
) -> None:
    client = client_as("merchant", merchant=merchant_a)
    client.post(
        reverse("merchants:offer_create"),
        _builder_post(title="<script>alert(1)</script>", description="{{ 7|add:1 }} {% now 'Y' %}"),
    )
    offer = MerchantOffer.objects.get()
    page = client.get(reverse("merchants:offer", args=[offer.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7|add:1 }} {% now &#x27;Y&#x27; %}" in page
    marketer = Client()
    marketer.force_login(make_user("marketer"))
    client.post(reverse("merchants:offer_submit", args=[offer.pk]))
    review = marketer.get(reverse("merchants:review_detail", args=[offer.pk])).content.decode()
    assert "<script>alert(1)</script>" not in review and "&lt;script&gt;" in review


def test_reach_is_shown_only_above_the_minimum_group(
    merchant_a: Merchant, client_as: Callable[..., Client], settings: Any
) -> None:
    settings.CDP_MERCHANT_MIN_GROUP_SIZE = 3
    Customer.objects.bulk_create(
        [Customer(customer_id=f"c{i}", traits={"age": 25 + i, "region": "Gangnam-gu"})
         for i in range(4)]
        + [Customer(customer_id="old", traits={"age": 70, "region": "Gangnam-gu"}),
           Customer(customer_id="far", traits={"age": 30, "region": "Mapo-gu"})]
    )  # fmt: skip
    client = client_as("merchant", merchant=merchant_a)
    url = reverse("merchants:offer_reach")
    shown = client.post(url, _builder_post(), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="reach-value">4<' in shown
    narrow = client.post(url, _builder_post(age_max="26"), HTTP_HX_REQUEST="true")
    assert "fewer than 3" in narrow.content.decode()
    assert "<html" not in narrow.content.decode()  # a fragment for htmx


def test_marketer_approves_from_the_review_page(
    merchant_a: Merchant, make_offer: Callable[..., Any], client_as: Callable[..., Client]
) -> None:
    offer = make_offer(merchant_a, status="pending")
    client = client_as("marketer")
    listing = client.get(reverse("merchants:review_list")).content.decode()
    assert offer.title in listing and merchant_a.name in listing
    url = reverse("merchants:review_detail", args=[offer.pk])
    response = client.post(url, {"decision": "approve", "comment": "ok"})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == "live"
    assert offer.campaign.status == CampaignStatus.PUBLISHED


def test_reject_without_a_comment_names_the_comment(
    merchant_a: Merchant, make_offer: Callable[..., Any], client_as: Callable[..., Client]
) -> None:
    offer = make_offer(merchant_a, status="pending")
    client = client_as("marketer")
    url = reverse("merchants:review_detail", args=[offer.pk])
    page = client.post(url, {"decision": "reject", "comment": ""}).content.decode()
    assert 'data-testid="error-comment"' in page
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_merchant_cannot_reach_the_banks_pages(
    merchant_a: Merchant, make_offer: Callable[..., Any], client_as: Callable[..., Client]
) -> None:
    offer = make_offer(merchant_a, status="pending")
    client = client_as("merchant", merchant=merchant_a)
    for url in (
        reverse("merchants:review_list"),
        reverse("merchants:review_detail", args=[offer.pk]),
        reverse("merchants:manage_list"),
        reverse("merchants:manage_detail", args=[merchant_a.pk]),
        reverse("campaigns:list"),
        reverse("campaigns:dashboards"),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("merchants:review_detail", args=[offer.pk]), {"decision": "approve"}
    )
    assert response.status_code == 403
    offer.refresh_from_db()
    assert offer.status == "pending"


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("merchants:offer", "get"),
        ("merchants:offer_edit", "get"),
        ("merchants:offer_edit", "post"),
        ("merchants:offer_submit", "post"),
        ("merchants:offer_pause", "post"),
        ("merchants:offer_resume", "post"),
        ("merchants:offer_image", "get"),
    ],
)
def test_merchant_b_gets_404_for_merchant_a_offer_pages(
    merchant_a: Merchant, merchant_b: Merchant, make_offer: Callable[..., Any],
    client_as: Callable[..., Client], name: str, method: str,
) -> None:  # fmt: skip
    offer = make_offer(merchant_a, status="live")
    intruder = client_as("merchant", merchant=merchant_b)
    response = getattr(intruder, method)(reverse(name, args=[offer.pk]), _builder_post())
    assert response.status_code == 404
    offer.refresh_from_db()
    assert offer.status == "live"


def test_portal_and_report_list_only_own_offers(
    merchant_a: Merchant, merchant_b: Merchant, make_offer: Callable[..., Any],
    client_as: Callable[..., Client],
) -> None:  # fmt: skip
    make_offer(merchant_a, status="live", title="Americano for A")
    make_offer(merchant_b, status="live", title="Croissant for B", regions=("Mapo-gu",))
    client = client_as("merchant", merchant=merchant_b)
    for url in (reverse("merchants:portal"), reverse("merchants:report"),
                reverse("merchants:report_csv")):  # fmt: skip
        body = client.get(url).content.decode()
        assert "Croissant for B" in body and "Americano for A" not in body, url


def test_admin_creates_merchant_adds_store_and_invites_a_user(
    client_as: Callable[..., Client],
) -> None:
    client = client_as("admin")
    fields = {"name": "Seocho Gym", "business_category": "gym"}
    created = client.post(reverse("merchants:manage_list"), fields)
    merchant = Merchant.objects.get(name="Seocho Gym")
    assert created["Location"] == reverse("merchants:manage_detail", args=[merchant.pk])
    url = created["Location"]
    bad = client.post(url, {"form": "store", "store-name": "Main", "store-region": "Seocho-gu",
                            "store-latitude": "137.5", "store-longitude": "127.0"})  # fmt: skip
    assert "must be between -90 and 90" in bad.content.decode()
    client.post(url, {"form": "store", "store-name": "Main", "store-region": "Seocho-gu",
                      "store-latitude": "37.4837", "store-longitude": "127.0324"})  # fmt: skip
    assert merchant.stores.get().region == "Seocho-gu"
    invited = client.post(url, {"form": "invite", "invite-username": "gym-owner"})
    page = invited.content.decode()
    assert 'data-testid="invite-link"' in page and "/merchant/welcome/" in page
    assert merchant.memberships.get().user.username == "gym-owner"


def test_marketer_cannot_manage_merchants(client_as: Callable[..., Client]) -> None:
    client = client_as("marketer")
    assert client.get(reverse("merchants:manage_list")).status_code == 403
    assert client.post(reverse("merchants:manage_list"), {"name": "X"}).status_code == 403
    assert not Merchant.objects.filter(name="X").exists()


def test_review_page_previews_the_rule_and_what_would_stop_it(
    merchant_a: Merchant, make_offer: Callable[..., Any], client_as: Callable[..., Client]
) -> None:
    from realtime.demo import demo_event_types_ensure

    demo_event_types_ensure()  # card transactions without coordinates
    store = merchant_a.stores.get()
    radius = make_offer(merchant_a, status="pending", area_kind="radius", regions=(),
                        store_id=store.pk, radius_m=300)  # fmt: skip
    plain = make_offer(merchant_a, status="pending")
    client = client_as("marketer")
    page = client.get(reverse("merchants:review_detail", args=[radius.pk])).content.decode()
    assert 'data-testid="rule-problems"' in page and "lat" in page
    page = client.get(reverse("merchants:review_detail", args=[plain.pk])).content.decode()
    assert 'data-testid="rule-problems"' not in page
    assert "&quot;card_transaction&quot;" in page and "Gangnam-gu" in page


def test_image_upload_is_served_back_as_an_image_only_to_its_merchant(
    merchant_a: Merchant, merchant_b: Merchant, client_as: Callable[..., Client],
    make_user: Callable[..., Any],
) -> None:  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    client = client_as("merchant", merchant=merchant_a)
    disguised = SimpleUploadedFile("x.png", b"<svg onload=alert(1)>", content_type="image/png")
    page = client.post(reverse("merchants:offer_create"), {**_builder_post(), "image": disguised})
    assert 'data-testid="error-image"' in page.content.decode()
    upload = SimpleUploadedFile("cup.png", png, content_type="image/png")
    client.post(reverse("merchants:offer_create"), {**_builder_post(), "image": upload})
    offer = MerchantOffer.objects.get()
    image = client.get(reverse("merchants:offer_image", args=[offer.pk]))
    assert (image["Content-Type"], image["X-Content-Type-Options"]) == ("image/png", "nosniff")
    assert image.content == png
    other = Client()
    other.force_login(make_user("merchant", merchant=merchant_b))
    assert other.get(reverse("merchants:offer_image", args=[offer.pk])).status_code == 404


def test_merchant_edits_an_offer_sent_back_for_changes(
    merchant_a: Merchant, make_offer: Callable[..., Any], client_as: Callable[..., Client],
    make_user: Callable[..., Any],
) -> None:  # fmt: skip
    from merchants import services

    offer = make_offer(merchant_a, status="pending")
    services.merchant_offer_request_changes(
        offer=offer, user=make_user("marketer"), comment="Make it 15%"
    )
    client = client_as("merchant", merchant=merchant_a)
    detail = client.get(reverse("merchants:offer", args=[offer.pk])).content.decode()
    assert "Make it 15%" in detail and "Changes requested" in detail
    url = reverse("merchants:offer_edit", args=[offer.pk])
    assert 'value="10.00"' in client.get(url).content.decode()
    client.post(url, _builder_post(discount_value="15", then="submit"))
    offer.refresh_from_db()
    assert (offer.status, offer.discount_value) == ("pending", 15)


def test_api_token_page_creates_a_token_that_works(
    merchant_a: Merchant, client_as: Callable[..., Client]
) -> None:
    from rest_framework.test import APIClient

    client = client_as("merchant", merchant=merchant_a)
    page = client.post(reverse("merchants:api_token")).content.decode()
    token = page.split('data-testid="api-token"', 1)[1].split("<code>", 1)[1].split("</code>")[0]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/merchant/offers").status_code == 200
