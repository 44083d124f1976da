"""Demo customers for ``make run``: a few hundred profiles with age, region, timezone, gender."""

from __future__ import annotations

import random
from datetime import date, timedelta

from segments.services import UpsertResult, customer_upsert_many

DEMO_CUSTOMERS = 300
REGIONS = [
    "Gangnam-gu",
    "Seocho-gu",
    "Jung-gu",
    "Mapo-gu",
    "Songpa-gu",
    "Jongno-gu",
    "Yongsan-gu",
    "Haeundae-gu",
]


def demo_customer_rows(count: int = DEMO_CUSTOMERS, *, today: date | None = None) -> list[dict]:
    """Deterministic rows (seeded), so re-running the seed changes nothing."""
    today = today or date(2026, 12, 1)
    chance = random.Random(20261201)
    rows = []
    for number in range(1, count + 1):
        traits: dict[str, object] = {
            "age": chance.randint(19, 75),
            "region": chance.choice(REGIONS),
            "timezone": "Asia/Seoul",
            "gender": chance.choice(["f", "m"]),
        }
        if chance.random() < 0.2:
            maturity = today + timedelta(days=chance.randint(1, 90))
            traits["deposit_maturity_date"] = maturity.isoformat()
        if chance.random() < 0.1:
            expiry = today + timedelta(days=chance.randint(3, 30))
            traits["gift_coupon_expiry"] = expiry.isoformat()
        rows.append({"customer_id": f"C{number:05d}", "traits": traits})
    return rows


def demo_customers_ensure() -> UpsertResult:
    created = updated = unchanged = 0
    rows = demo_customer_rows()
    for start in range(0, len(rows), 500):
        result = customer_upsert_many(rows=rows[start : start + 500])
        created += result.created
        updated += result.updated
        unchanged += result.unchanged
    return UpsertResult(created=created, updated=updated, unchanged=unchanged)
