"""A merchant offer as a rule spec (shared/RULE_SPEC.md, scenario 5): pure, no database.

The builder's fields map onto the spec like this:

- trigger template → ``trigger.event``; the area filters the trigger event (``region`` in the
  chosen regions, or a ``lat``/``lon`` box around the store for a radius) or, for templates
  whose event carries no place (payday), the customer's home ``region`` in the profile;
- age band, gender and exposed segments → ``profile`` conditions (``age``, ``gender``,
  ``segment_tier``);
- start and end dates → ``schedule``; opening hours → ``quiet_hours`` outside them, dropped;
- maximum coupons → ``guards.budget.max_offers``;
- the goal is a card transaction at this merchant (``merchant_id``) within the coupon's
  validity, with its ``amount`` as revenue: that is a redemption.

Days of week, the daily cap and the maximum of redemptions have no words in spec version 1;
``merchants.services.merchant_offer_pacing_apply`` holds the campaign for them.

A radius is compiled as the bounding box of the circle (the spec has no distance operator):
at the few hundred metres merchants choose, the corners add at most 27% of area.
"""

from __future__ import annotations

import math
from typing import Any

from merchants.catalog import TRIGGERS
from merchants.models import AreaKind, Gender, MerchantOffer

METRES_PER_DEGREE_LATITUDE = 111_320.0
OFFER_CHANNEL = "push"
OFFER_FALLBACK = "sms"


def merchant_offer_slug(offer: MerchantOffer) -> str:
    """The campaigns.Offer slug of a merchant offer (stable: the spec names it)."""
    return f"merchant-{offer.merchant_id}-offer-{offer.pk}"


def radius_box(latitude: float, longitude: float, radius_m: int) -> dict[str, list[float]]:
    """The [south, north] and [west, east] bounds of a circle, to 6 decimals (~0.1 m)."""
    delta_lat = radius_m / METRES_PER_DEGREE_LATITUDE
    cos_lat = max(math.cos(math.radians(latitude)), 1e-6)
    delta_lon = radius_m / (METRES_PER_DEGREE_LATITUDE * cos_lat)
    return {
        "lat": [round(latitude - delta_lat, 6), round(latitude + delta_lat, 6)],
        "lon": [round(longitude - delta_lon, 6), round(longitude + delta_lon, 6)],
    }


def _regions_predicate(kind: str, regions: list[str]) -> dict[str, Any]:
    if len(regions) == 1:
        return {kind: "region", "op": "=", "value": regions[0]}
    return {kind: "region", "op": "in", "value": list(regions)}


def _area(offer: MerchantOffer) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(trigger where, profile conditions) for the offer's area."""
    template = TRIGGERS[offer.trigger]
    if offer.area_kind == AreaKind.RADIUS and offer.store is not None and offer.radius_m:
        box = radius_box(float(offer.store.latitude), float(offer.store.longitude), offer.radius_m)
        where = {
            "all": [
                {"attr": "lat", "op": "between", "value": box["lat"]},
                {"attr": "lon", "op": "between", "value": box["lon"]},
            ]
        }
        return where, []
    regions = list(offer.regions or [])
    if not regions:
        return None, []
    if template.area == "profile":
        return None, [_regions_predicate("profile", regions)]
    return _regions_predicate("attr", regions), []


def _audience(offer: MerchantOffer) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = []
    if offer.age_min is not None and offer.age_max is not None:
        conditions.append(
            {"profile": "age", "op": "between", "value": [offer.age_min, offer.age_max]}
        )
    elif offer.age_min is not None:
        conditions.append({"profile": "age", "op": ">=", "value": offer.age_min})
    elif offer.age_max is not None:
        conditions.append({"profile": "age", "op": "<=", "value": offer.age_max})
    if offer.gender and offer.gender != Gender.ANY:
        conditions.append({"profile": "gender", "op": "=", "value": offer.gender})
    if offer.segments:
        conditions.append({"profile": "segment_tier", "op": "in", "value": list(offer.segments)})
    return conditions


def merchant_offer_to_spec(offer: MerchantOffer, *, holdout: float = 0.0) -> dict[str, Any]:
    """The campaign spec that runs ``offer``. Reads only the offer (and its store).

    ``holdout`` is the bank's control-group share for merchant offers (a setting).
    """
    template = TRIGGERS[offer.trigger]
    where, area_conditions = _area(offer)
    trigger: dict[str, Any] = {"event": template.event}
    if where is not None:
        trigger["where"] = where
    conditions = [*area_conditions, *_audience(offer)]
    guards: dict[str, Any] = {"budget": {"max_offers": int(offer.max_coupons)}}
    if holdout > 0:
        guards["holdout"] = holdout
    if offer.hour_from is not None and offer.hour_to is not None:
        guards["quiet_hours"] = {
            "from": offer.hour_to.strftime("%H:%M"),
            "to": offer.hour_from.strftime("%H:%M"),
            "then": "drop",
        }
    spec: dict[str, Any] = {
        "spec": 1,
        "name": f"{offer.merchant.name}: {offer.title}"[:200],
        "schedule": {"start": offer.start_date.isoformat(), "end": offer.end_date.isoformat()},
        "trigger": trigger,
    }
    if conditions:
        spec["conditions"] = {"all": conditions}
    spec["actions"] = [
        {"offer": merchant_offer_slug(offer), "channel": OFFER_CHANNEL, "fallback": OFFER_FALLBACK}
    ]
    spec["guards"] = guards
    spec["goal"] = {
        "event": "card_transaction",
        "where": {"attr": "merchant_id", "op": "=", "value": str(offer.merchant_id)},
        "within": f"{int(offer.valid_days)}d",
        "revenue": "amount",
    }
    return spec
