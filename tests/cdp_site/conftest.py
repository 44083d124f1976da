"""A small but complete platform for the hardening tests (RELIABILITY.md items 6 and 7): a user
of every role, two merchants (A and B) with offers in every state, and one of every object a URL
can name, so that path parameters are filled with real ids rather than guesses."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

#: Marks every merchant B object; merchant A must never see it in any response.
MERCHANT_B_MARK = "Zeta-Bakery-B-7Q"


@dataclasses.dataclass
class World:
    users: dict[str, Any]
    merchant_a: Any
    merchant_b: Any
    #: Merchant B's offers by status ("draft", "pending", "live").
    merchant_offers_b: dict[str, Any]
    merchant_offer_a: Any
    #: A bank campaign with a published version 1.
    campaign: Any
    #: The campaign merchant B's live offer runs as.
    campaign_b: Any
    offer: Any
    template_slug: str
    estimate: Any
    decision: Any
    delivery: Any
    staff_task: Any
    customer_id: str
    customer_import: Any
    event_type: str
    source: Any
    source_key: str
    welcome_path: str

    def token(self, role: str) -> str:
        from rest_framework.authtoken.models import Token

        return Token.objects.get_or_create(user=self.users[role])[0].key


def _merchant_offer_input(**overrides: Any) -> Any:
    from merchants import services

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
        max_coupons=50,
        trigger="card_transaction_in_region",
    )
    return dataclasses.replace(values, **overrides)


@pytest.fixture
def world(make_user: Callable[..., Any]) -> World:
    from campaigns import services as campaign_services
    from campaigns.gallery import gallery_entry, gallery_offers_ensure
    from campaigns.models import (
        AudienceEstimate,
        Decision,
        Delivery,
        Offer,
        StaffTask,
    )
    from merchants import services as merchant_services
    from realtime.demo import demo_event_types_ensure
    from realtime.ingest import services as ingest_services
    from segments import services as segment_services

    merchant_a = merchant_services.merchant_create(
        name="Gangnam Coffee A", business_category="cafe"
    )
    merchant_services.store_create(merchant=merchant_a, name="Yeoksam", region="Gangnam-gu",
                                   latitude="37.500600", longitude="127.036400")  # fmt: skip
    merchant_b = merchant_services.merchant_create(name=MERCHANT_B_MARK, business_category="bakery")
    merchant_services.store_create(merchant=merchant_b, name=f"{MERCHANT_B_MARK} Hapjeong",
                                   region="Mapo-gu", latitude="37.549500",
                                   longitude="126.913700")  # fmt: skip
    users = {
        "marketer": make_user("marketer"),
        "analyst": make_user("analyst"),
        "admin": make_user("admin"),
        "merchant_a": make_user("merchant", merchant=merchant_a),
        "merchant_b": make_user("merchant", merchant=merchant_b),
    }
    offers_b = {}
    for status in ("draft", "pending", "live"):
        offer = merchant_services.merchant_offer_create(
            merchant=merchant_b,
            user=users["merchant_b"],
            values=_merchant_offer_input(title=f"{MERCHANT_B_MARK} {status}", regions=("Mapo-gu",)),
        )
        if status in ("pending", "live"):
            offer = merchant_services.merchant_offer_submit(offer=offer, user=users["merchant_b"])
        if status == "live":
            offer = merchant_services.merchant_offer_approve(offer=offer, user=users["marketer"])
        offers_b[status] = offer
    offer_a = merchant_services.merchant_offer_create(
        merchant=merchant_a, user=users["merchant_a"], values=_merchant_offer_input()
    )

    gallery_offers_ensure()
    entry = gallery_entry("viewed-but-did-not-sign-up")
    assert entry is not None
    campaign = campaign_services.campaign_create(
        user=users["marketer"], name="Viewed but did not sign up", spec=copy.deepcopy(entry.spec)
    )
    campaign_services.campaign_publish(campaign=campaign, user=users["marketer"])
    template = campaign_services.template_save_from_campaign(
        campaign=campaign, user=users["admin"], name="Sign-up nudge", slug="sign-up-nudge"
    )
    estimate = AudienceEstimate.objects.create(
        campaign=campaign,
        requested_by=users["marketer"],
        spec=campaign.draft_spec,
        days=7,
        window_start=timezone.now() - dt.timedelta(days=7),
        window_end=timezone.now(),
    )
    campaign_b = offers_b["live"].campaign
    decision = Decision.objects.create(
        id=uuid.uuid4(),
        campaign=campaign_b,
        version=1,
        customer_id="c-fuzz-1",
        trigger_event_id=f"e-{uuid.uuid4().hex[:8]}",
        outcome="offer",
        actions=[],
        explanation=[],
        occurred_at=timezone.now(),
    )
    delivery = Delivery.objects.create(
        decision=decision,
        campaign=campaign_b,
        customer_id="c-fuzz-1",
        kind="offer",
        offer=offers_b["live"].offer,
        channels=["sms"],
        status="dead",
        last_error="provider down",
    )
    staff_task = StaffTask.objects.create(team="tellers", customer_id="c-fuzz-1", message="Call")
    segment_services.customer_upsert(
        customer_id="c-fuzz-1", traits={"first_name": "Minji", "age": 31}
    )
    customer_import = segment_services.customer_import_create(
        file_name="people.csv", content=b"customer_id,first_name\nc-2,Jae\n", user=users["marketer"]
    )
    demo_event_types_ensure()
    source, source_key = ingest_services.source_create(name="Fuzz web", user=users["marketer"])
    invitation = merchant_services.merchant_user_invite(merchant=merchant_b, username="b-invitee")
    from realtime.models import EventType

    return World(
        users=users,
        merchant_a=merchant_a,
        merchant_b=merchant_b,
        merchant_offers_b=offers_b,
        merchant_offer_a=offer_a,
        campaign=campaign,
        campaign_b=campaign_b,
        offer=Offer.objects.filter(merchant__isnull=True).order_by("pk").first(),
        template_slug=template.slug,
        estimate=estimate,
        decision=decision,
        delivery=delivery,
        staff_task=staff_task,
        customer_id="c-fuzz-1",
        customer_import=customer_import,
        event_type=EventType.objects.order_by("pk").values_list("name", flat=True).first() or "",
        source=source,
        source_key=source_key,
        welcome_path=invitation.set_password_path,
    )
