"""The merchant offer → rule spec compiler: pure, table-driven, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from merchants.models import Merchant, MerchantOffer, Store
from merchants.spec import merchant_offer_to_spec, radius_box
from realtime.engine import validate_spec

REGISTRY = {
    "card_transaction": {"amount": "number", "merchant_id": "string", "region": "string",
                         "lat": "number", "lon": "number"},
    "app_open": {"lat": "number", "lon": "number", "region": "string"},
    "salary_deposit": {"amount": "number"},
}  # fmt: skip


def offer(**overrides: Any) -> MerchantOffer:
    merchant = Merchant(id=7, name="Gangnam Coffee")
    fields: dict[str, Any] = {
        "pk": 42,
        "merchant": merchant,
        "title": "10% off",
        "discount_kind": "percent",
        "discount_value": Decimal("10"),
        "age_min": 20,
        "age_max": 39,
        "area_kind": "regions",
        "regions": ["Gangnam-gu"],
        "start_date": dt.date(2026, 12, 1),
        "end_date": dt.date(2026, 12, 31),
        "max_coupons": 500,
        "trigger": "card_transaction_in_region",
        "valid_days": 7,
    }
    fields.update(overrides)
    return MerchantOffer(**fields)


def test_scenario_5_compiles_to_the_rule_spec_of_scenario_5() -> None:
    # given the offer of shared/SCENARIOS.md scenario 5
    # when
    spec = merchant_offer_to_spec(offer())
    # then: RULE_SPEC.md scenario 5, word for word
    assert spec == {
        "spec": 1,
        "name": "Gangnam Coffee: 10% off",
        "schedule": {"start": "2026-12-01", "end": "2026-12-31"},
        "trigger": {
            "event": "card_transaction",
            "where": {"attr": "region", "op": "=", "value": "Gangnam-gu"},
        },
        "conditions": {"all": [{"profile": "age", "op": "between", "value": [20, 39]}]},
        "actions": [{"offer": "merchant-7-offer-42", "channel": "push", "fallback": "sms"}],
        "guards": {"budget": {"max_offers": 500}},
        "goal": {
            "event": "card_transaction",
            "where": {"attr": "merchant_id", "op": "=", "value": "7"},
            "within": "7d",
            "revenue": "amount",
        },
    }
    assert validate_spec(spec, event_types=REGISTRY) == []


STORE = Store(id=3, merchant_id=7, name="Yeoksam", region="Gangnam-gu",
              latitude=Decimal("37.500000"), longitude=Decimal("127.036000"))  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "path", "expected"),
    [
        ({"regions": ["Gangnam-gu", "Seocho-gu"]}, ("trigger", "where"),
         {"attr": "region", "op": "in", "value": ["Gangnam-gu", "Seocho-gu"]}),
        ({"age_min": None, "age_max": None}, ("conditions",), None),
        ({"age_min": 30, "age_max": None}, ("conditions", "all", 0),
         {"profile": "age", "op": ">=", "value": 30}),
        ({"age_min": None, "age_max": 29}, ("conditions", "all", 0),
         {"profile": "age", "op": "<=", "value": 29}),
        ({"gender": "f"}, ("conditions", "all", 1),
         {"profile": "gender", "op": "=", "value": "f"}),
        ({"segments": ["student"]}, ("conditions", "all", 1),
         {"profile": "segment_tier", "op": "in", "value": ["student"]}),
        ({"trigger": "payday"}, ("trigger",), {"event": "salary_deposit"}),
        ({"trigger": "payday"}, ("conditions", "all", 0),
         {"profile": "region", "op": "=", "value": "Gangnam-gu"}),
        ({"hour_from": dt.time(9), "hour_to": dt.time(18)}, ("guards", "quiet_hours"),
         {"from": "18:00", "to": "09:00", "then": "drop"}),
        ({"max_coupons": 20}, ("guards", "budget"), {"max_offers": 20}),
        ({"valid_days": 3}, ("goal", "within"), "3d"),
        ({"area_kind": "radius", "regions": [], "store": STORE, "radius_m": 500,
          "trigger": "app_opened_near_store"}, ("trigger",),
         {"event": "app_open", "where": {"all": [
             {"attr": "lat", "op": "between", "value": [37.495508, 37.504492]},
             {"attr": "lon", "op": "between", "value": [127.030339, 127.041661]}]}}),
    ],
)  # fmt: skip
def test_builder_fields_map_onto_the_spec(
    overrides: dict[str, Any], path: tuple[object, ...], expected: object
) -> None:
    spec: Any = merchant_offer_to_spec(offer(**overrides))
    for step in path:
        if spec is None:
            break
        spec = spec.get(step) if isinstance(step, str) else spec[step]
    assert spec == expected
    assert validate_spec(merchant_offer_to_spec(offer(**overrides)), event_types=REGISTRY) == []


def test_radius_box_contains_the_circle() -> None:
    box = radius_box(37.5, 127.036, 1000)
    # 1 km is about 0.009 degrees of latitude; longitude degrees are shorter at 37.5°N
    assert box["lat"] == [37.491017, 37.508983]
    assert box["lon"][1] - 127.036 == pytest.approx(0.01132, abs=1e-5)


def test_the_spec_names_the_merchant_not_any_customer() -> None:
    spec = merchant_offer_to_spec(offer(title="Latte {{ customer.name }}"), holdout=0.1)
    assert spec["guards"] == {"budget": {"max_offers": 500}, "holdout": 0.1}
    assert spec["goal"]["where"]["value"] == "7"
    assert "customer_id" not in str(spec)
