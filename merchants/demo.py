"""Demo data for ``make run``: Gangnam Coffee's stores and one approved, live offer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cdp_site.demo import DEMO_MERCHANT_NAME
from merchants import services
from merchants.models import Merchant, MerchantOffer

DEMO_STORES = (
    ("Gangnam Station", "Gangnam-gu", "37.497942", "127.027621", "396 Gangnam-daero"),
    ("Yeoksam", "Gangnam-gu", "37.500622", "127.036456", "Teheran-ro 156"),
    ("Seocho Court", "Seocho-gu", "37.491730", "127.007510", "Seocho-daero 301"),
)
DEMO_OFFER_TITLE = "10% off any drink"
#: What the merchant triggers need from the event registry: places on the events.
LOCATED_EVENTS: dict[str, str] = {
    "card_transaction": "A card payment from the card switch.",
    "app_open": "The bank's app was opened (with the device's location when shared).",
}
LOCATION_ATTRIBUTES = (
    {"name": "lat", "type": "number"},
    {"name": "lon", "type": "number"},
    {"name": "region", "type": "string"},
    {"name": "store_id", "type": "string"},  # the bank's store id, for reports by store
)


def merchant_event_types_ensure() -> None:
    """Registers ``app_open`` and adds ``lat``/``lon`` to located events, for radius offers."""
    from realtime.ingest import services as ingest_services
    from realtime.models import EventType

    for name, description in LOCATED_EVENTS.items():
        event_type = EventType.objects.filter(name=name).first()
        if event_type is None:
            ingest_services.event_type_create(
                name=name, description=description, attributes=list(LOCATION_ATTRIBUTES)
            )
            continue
        attributes = list(event_type.attributes or [])
        known = {item.get("name") for item in attributes if isinstance(item, dict)}
        missing = [item for item in LOCATION_ATTRIBUTES if item["name"] not in known]
        if missing:
            ingest_services.event_type_update(
                event_type=event_type, attributes=[*attributes, *missing]
            )


@transaction.atomic
def demo_merchant_ensure() -> MerchantOffer | None:
    """Stores of the demo merchant and one live offer (approved by the demo marketer)."""
    merchant = Merchant.objects.filter(name=DEMO_MERCHANT_NAME).first()
    users = get_user_model().objects
    owner = users.filter(username="merchant").first()
    marketer = users.filter(username="marketer").first()
    if merchant is None or owner is None or marketer is None:
        return None
    for name, region, latitude, longitude, address in DEMO_STORES:
        if not merchant.stores.filter(name=name).exists():
            services.store_create(
                merchant=merchant,
                name=name,
                region=region,
                latitude=latitude,
                longitude=longitude,
                address=address,
            )
    existing = merchant.offers.filter(title=DEMO_OFFER_TITLE).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    offer = services.merchant_offer_create(
        merchant=merchant,
        user=owner,
        values=services.OfferInput(
            title=DEMO_OFFER_TITLE,
            description="Show the coupon at any Gangnam Coffee; one per customer.",
            discount_kind="percent",
            discount_value=Decimal("10"),
            age_min=20,
            age_max=39,
            regions=("Gangnam-gu",),
            start_date=today,
            end_date=today + dt.timedelta(days=60),
            hour_from=dt.time(7),
            hour_to=dt.time(22),
            max_coupons=500,
            daily_cap=100,
            trigger="card_transaction_in_region",
        ),
    )
    offer = services.merchant_offer_submit(offer=offer, user=owner)
    return services.merchant_offer_approve(offer=offer, user=marketer, comment="Demo: approved.")
