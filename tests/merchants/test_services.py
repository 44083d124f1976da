"""The offer builder's bounds, the approval flow and what going live creates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from campaigns.models import Campaign, CampaignStatus, Coupon, Offer
from merchants import services
from merchants.models import Merchant, MerchantOffer, MerchantOfferEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TODAY = dt.date.today()


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"discount_value": Decimal("60")}, "discount_value", "5% to 50% off; you entered 60%"),
        ({"discount_value": Decimal("2")}, "discount_value", "5% to 50%"),
        ({"discount_value": None}, "discount_value", "enter how much off"),
        ({"discount_kind": "amount", "discount_value": Decimal("60000")}, "discount_value",
         "1,000 to 50,000 KRW"),
        ({"title": "  "}, "title", "give the offer a title"),
        ({"regions": ()}, "regions", "choose at least one region"),
        ({"regions": ("Mapo-gu",)}, "regions", "Mapo-gu is outside your stores' regions"),
        ({"regions": ("Atlantis",)}, "regions", "not an administrative region"),
        ({"start_date": TODAY - dt.timedelta(days=3)}, "start_date", "is in the past"),
        ({"end_date": TODAY}, "end_date", "ends before it starts"),
        ({"start_date": None}, "start_date", "first day"),
        ({"max_coupons": 0}, "max_coupons", "at least 1"),
        ({"max_coupons": None}, "max_coupons", "at least 1"),
        ({"max_coupons": 1_000_000}, "max_coupons", "at most 100,000"),
        ({"daily_cap": 600}, "daily_cap", "above the maximum of coupons"),
        ({"age_min": 40, "age_max": 30}, "age_max", "below the lower end"),
        ({"age_min": 12}, "age_min", "adults only"),
        ({"segments": ("everyone-rich",)}, "segments", "not one the bank offers"),
        ({"trigger": "whatever"}, "trigger", "one of the bank's triggers"),
        ({"hour_from": dt.time(9)}, "hour_to", "both the opening and the closing"),
        ({"area_kind": "radius", "regions": (), "store_id": None, "radius_m": 500}, "store",
         "choose one of your stores"),
        ({"trigger": "app_opened_near_store"}, "area_kind", "works with a radius"),
        ({"valid_days": 0}, "valid_days", "1 to 60 days"),
    ],
)  # fmt: skip
def test_builder_refuses_out_of_bounds_input_naming_the_field(
    valid_input: Callable[..., Any],
    merchant_a: Merchant, make_user: Callable[..., Any], overrides: dict[str, Any], field: str,
    words: str,
) -> None:  # fmt: skip
    user = make_user("merchant", merchant=merchant_a)
    with pytest.raises(ValidationError) as refused:
        services.merchant_offer_create(
            merchant=merchant_a, user=user, values=valid_input(**overrides)
        )
    assert field in refused.value.message_dict
    assert words in " ".join(refused.value.message_dict[field])
    assert MerchantOffer.objects.count() == 0


def test_radius_around_own_store_is_accepted(
    valid_input: Callable[..., Any], merchant_a: Merchant, make_user: Callable[..., Any]
) -> None:
    store = merchant_a.stores.get()
    offer = services.merchant_offer_create(
        merchant=merchant_a,
        user=make_user("merchant", merchant=merchant_a),
        values=valid_input(
            area_kind="radius",
            regions=(),
            store_id=store.pk,
            radius_m=300,
            trigger="app_opened_near_store",
        ),
    )
    assert (offer.store_id, offer.radius_m, offer.regions) == (store.pk, 300, [])


def test_radius_around_another_merchants_store_is_refused(
    valid_input: Callable[..., Any],
    merchant_a: Merchant,
    merchant_b: Merchant,
    make_user: Callable[..., Any],
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.merchant_offer_create(
            merchant=merchant_a,
            user=make_user("merchant", merchant=merchant_a),
            values=valid_input(
                area_kind="radius", regions=(), store_id=merchant_b.stores.get().pk, radius_m=300
            ),
        )
    assert "store" in refused.value.message_dict


@pytest.mark.parametrize(
    ("content", "accepted"),
    [
        (PNG, True),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, True),
        (b"GIF89a" + b"\x00" * 32, True),
        (b"<svg onload=alert(1)></svg>", False),
        (b"<html><script>alert(1)</script>", False),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024 + 1), False),
    ],
)
def test_images_are_checked_by_content_and_size(
    valid_input: Callable[..., Any],
    merchant_a: Merchant,
    make_user: Callable[..., Any],
    content: bytes,
    accepted: bool,
) -> None:
    values = valid_input(image=services.ImageUpload(content=content, name="a.png"))
    user = make_user("merchant", merchant=merchant_a)
    if accepted:
        offer = services.merchant_offer_create(merchant=merchant_a, user=user, values=values)
        assert offer.image_content_type.startswith("image/")
    else:
        with pytest.raises(ValidationError) as refused:
            services.merchant_offer_create(merchant=merchant_a, user=user, values=values)
        assert "image" in refused.value.message_dict


def test_title_with_crlf_is_kept_on_one_line(
    valid_input: Callable[..., Any], merchant_a: Merchant, make_user: Callable[..., Any]
) -> None:
    offer = services.merchant_offer_create(
        merchant=merchant_a,
        user=make_user("merchant", merchant=merchant_a),
        values=valid_input(title="Latte\r\nSet-Cookie: x=1"),
    )
    assert offer.title == "Latte Set-Cookie: x=1"


def test_merchant_cannot_approve(merchant_a: Merchant, make_offer: Callable[..., Any],
                                 make_user: Callable[..., Any]) -> None:  # fmt: skip
    offer = make_offer(merchant_a, status="pending")
    with pytest.raises(PermissionDenied):
        services.merchant_offer_approve(
            offer=offer, user=make_user("merchant", merchant=merchant_a)
        )
    offer.refresh_from_db()
    assert offer.status == "pending"
    assert Campaign.objects.count() == 0


def test_approval_publishes_a_campaign_of_the_merchant_with_offer_and_pool(
    merchant_a: Merchant, make_offer: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    # given
    offer = make_offer(merchant_a, status="pending", title="Latte {{ customer.phone }} <b>x</b>")
    marketer = make_user("marketer")
    # when
    offer = services.merchant_offer_approve(offer=offer, user=marketer, comment="Looks good")
    # then
    campaign = offer.campaign
    assert offer.status == "live"
    assert campaign.merchant_id == merchant_a.pk
    assert campaign.status == CampaignStatus.PUBLISHED
    assert campaign.live_version.spec["guards"] == {"budget": {"max_offers": 500}}
    assert campaign.live_version.spec["goal"]["where"]["value"] == str(merchant_a.pk)
    assert campaign.approved_by_id == marketer.pk
    coupon_offer = Offer.objects.get(slug=f"merchant-{merchant_a.pk}-offer-{offer.pk}")
    assert coupon_offer.merchant_id == merchant_a.pk
    assert (coupon_offer.coupon_value, coupon_offer.is_percent) == (Decimal("10.00"), True)
    # the merchant's text can never open a placeholder in the customer's message
    assert "{{ customer.phone }}" not in coupon_offer.push_title
    assert "{{ coupon.code }}" in coupon_offer.sms_body
    assert Coupon.objects.filter(pool__offer=coupon_offer, status="available").count() == 500
    actions = list(offer.events.order_by("id").values_list("action", "is_bank"))
    assert actions == [("created", False), ("submitted", False), ("approved", True),
                       ("published", True)]  # fmt: skip


def test_rejected_offer_never_goes_live(
    merchant_a: Merchant, make_offer: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    offer = make_offer(merchant_a, status="pending")
    marketer = make_user("marketer")
    with pytest.raises(ValidationError) as refused:
        services.merchant_offer_reject(offer=offer, user=marketer, comment="  ")
    assert "comment" in refused.value.message_dict
    offer = services.merchant_offer_reject(offer=offer, user=marketer, comment="Too broad")
    with pytest.raises(services.TransitionRefused):
        services.merchant_offer_approve(offer=offer, user=marketer)
    with pytest.raises(services.TransitionRefused):
        services.merchant_offer_submit(offer=offer, user=offer.created_by)
    offer.refresh_from_db()
    assert (offer.status, offer.campaign_id) == ("rejected", None)
    assert Campaign.objects.count() == 0
    assert offer.events.filter(action="rejected", comment="Too broad").exists()


def test_changes_requested_then_edited_and_resubmitted(
    valid_input: Callable[..., Any],
    merchant_a: Merchant,
    make_offer: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:
    offer = make_offer(merchant_a, status="pending")
    marketer = make_user("marketer")
    offer = services.merchant_offer_request_changes(
        offer=offer, user=marketer, comment="Please use 15%"
    )
    assert offer.status == "changes_requested"
    offer = services.merchant_offer_update(
        offer=offer, user=offer.created_by, values=valid_input(discount_value=Decimal("15"))
    )
    offer = services.merchant_offer_submit(offer=offer, user=offer.created_by)
    offer = services.merchant_offer_approve(offer=offer, user=marketer)
    assert offer.status == "live"
    assert offer.offer.coupon_value == Decimal("15.00")


def test_live_offer_cannot_be_edited(
    valid_input: Callable[..., Any], merchant_a: Merchant, make_offer: Callable[..., Any]
) -> None:
    offer = make_offer(merchant_a, status="live")
    with pytest.raises(services.TransitionRefused):
        services.merchant_offer_update(offer=offer, user=offer.created_by, values=valid_input())


def test_merchant_pauses_its_live_offer_at_once(
    merchant_a: Merchant, make_offer: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    offer = make_offer(merchant_a, status="live")
    owner = make_user("merchant", merchant=merchant_a)
    offer = services.merchant_offer_pause(offer=offer, user=owner)
    assert (offer.status, offer.pause_reason) == ("paused", "merchant")
    assert Campaign.objects.get(pk=offer.campaign_id).status == CampaignStatus.PAUSED
    offer = services.merchant_offer_resume(offer=offer, user=owner)
    assert Campaign.objects.get(pk=offer.campaign_id).status == CampaignStatus.PUBLISHED
    assert list(offer.events.values_list("action", flat=True)[:2]) == ["resumed", "paused"]


def test_pacing_holds_offer_on_days_it_does_not_run_and_releases_it(
    merchant_a: Merchant, make_offer: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    from django.utils import timezone

    today = timezone.localdate()
    offer = make_offer(merchant_a, status="live", days_of_week=((today.weekday() + 1) % 7,))
    assert services.merchant_offer_pacing_apply() == {"held": 1, "resumed": 0}
    offer.refresh_from_db()
    assert (offer.status, offer.pause_reason) == ("paused", "pacing")
    assert offer.events.filter(action="paused", comment__contains="not one of the offer's days")
    # a merchant's own pause is never undone by pacing
    MerchantOffer.objects.filter(pk=offer.pk).update(days_of_week=[])
    assert services.merchant_offer_pacing_apply() == {"held": 0, "resumed": 1}
    offer.refresh_from_db()
    offer = services.merchant_offer_pause(
        offer=offer, user=make_user("merchant", merchant=merchant_a)
    )
    assert services.merchant_offer_pacing_apply() == {"held": 0, "resumed": 0}


def test_invitation_link_sets_a_password_once(merchant_a: Merchant, client: Client) -> None:
    invitation = services.merchant_user_invite(merchant=merchant_a, username="barista")
    assert not invitation.user.has_usable_password()
    assert invitation.user.merchant_membership.merchant == merchant_a
    page = client.get(invitation.set_password_path)
    assert page.status_code == 200
    password = "a long Pass phrase 7"
    done = client.post(
        invitation.set_password_path, {"new_password1": password, "new_password2": password}
    )
    assert done.status_code == 302
    assert client.login(username="barista", password="a long Pass phrase 7")
    client.logout()
    again = client.get(invitation.set_password_path)
    assert again.status_code == 400
    assert MerchantOfferEvent.objects.count() == 0


def test_invite_refuses_a_taken_username(merchant_a: Merchant) -> None:
    services.merchant_user_invite(merchant=merchant_a, username="barista")
    with pytest.raises(ValidationError) as refused:
        services.merchant_user_invite(merchant=merchant_a, username="Barista")
    assert "username" in refused.value.message_dict


def test_approval_that_cannot_compile_changes_nothing_and_says_why(
    valid_input: Callable[..., Any], merchant_a: Merchant, make_user: Callable[..., Any]
) -> None:
    from realtime.demo import demo_event_types_ensure

    # given a registry whose card transactions carry no coordinates, and a radius offer
    demo_event_types_ensure()
    owner = make_user("merchant", merchant=merchant_a)
    offer = services.merchant_offer_create(
        merchant=merchant_a,
        user=owner,
        values=valid_input(
            area_kind="radius", regions=(), store_id=merchant_a.stores.get().pk, radius_m=400
        ),
    )
    offer = services.merchant_offer_submit(offer=offer, user=owner)
    # when
    with pytest.raises(services.TransitionRefused) as refused:
        services.merchant_offer_approve(offer=offer, user=make_user("marketer"))
    # then
    assert "could not go live" in refused.value.message and "lat" in refused.value.message
    offer.refresh_from_db()
    assert (offer.status, offer.campaign_id, offer.offer_id) == ("pending", None, None)
    assert (Campaign.objects.count(), Offer.objects.count()) == (0, 0)


def test_pacing_holds_after_the_daily_cap_and_after_the_maximum_of_redemptions(
    merchant_a: Merchant, make_offer: Callable[..., Any]
) -> None:
    import uuid

    from django.utils import timezone

    from campaigns.models import Conversion, Decision

    capped = make_offer(merchant_a, status="live", daily_cap=2, max_coupons=10)
    spent = make_offer(merchant_a, status="live", max_redemptions=1, max_coupons=10)
    now = timezone.now()
    for offer, customers in ((capped, 2), (spent, 1)):
        for n in range(customers):
            decision = Decision.objects.create(
                id=uuid.uuid4(), campaign_id=offer.campaign_id, version=1,
                customer_id=f"c{n}", trigger_event_id=f"t{n}", outcome="offer", occurred_at=now,
            )  # fmt: skip
            if offer is spent:
                Conversion.objects.create(
                    decision=decision,
                    campaign_id=offer.campaign_id,
                    customer_id=f"c{n}",
                    event_id=f"p{n}",
                    occurred_at=now,
                )
    assert services.merchant_offer_pacing_apply(now=now) == {"held": 2, "resumed": 0}
    capped.refresh_from_db()
    spent.refresh_from_db()
    assert capped.events.filter(comment__contains="Today's cap of 2 coupons was reached").exists()
    assert spent.events.filter(comment__contains="maximum of 1 redemptions").exists()
    # the next day the daily cap allows again; the maximum of redemptions never does
    tomorrow = now + dt.timedelta(days=1)
    assert services.merchant_offer_pacing_apply(now=tomorrow) == {"held": 0, "resumed": 1}
    capped.refresh_from_db()
    spent.refresh_from_db()
    assert (capped.status, spent.status) == ("live", "paused")


def test_merchant_text_stays_text_in_the_customers_message(
    merchant_a: Merchant, make_offer: Callable[..., Any]
) -> None:
    from campaigns.offers.rendering import RenderContext, render, render_line

    offer = make_offer(
        merchant_a,
        status="live",
        title="Hi {{ customer.phone }}",
        description="<script>x</script> {{coupon.code}}\r\nSecond line",
    )
    context = RenderContext.build(
        customer={"phone": "+82-10-1234-5678", "name": "Kim"}, coupon_code="M1-ABCD"
    )
    coupon_offer = offer.offer
    push = render_line(coupon_offer.push_title, context)
    body = render(coupon_offer.push_body, context)
    email = render(coupon_offer.email_body, context, escaping="html")
    assert "+82-10-1234-5678" not in push + body + email
    assert push.replace("\u200b", "") == "Gangnam Coffee A: Hi {{ customer.phone }}"
    assert body.count("M1-ABCD") == 1  # only the platform's own placeholder was filled
    assert "<script>" not in email and "&lt;script&gt;" in email
