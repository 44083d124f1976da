"""The demo event simulator: a bank app's traffic, shaped so the demo campaigns have work.

Most events are background noise (screens, pages, card payments); a few customers follow the
stories of shared/SCENARIOS.md (three savings views, the same screen over and over, a branch
visit, a remittance at the counter, a transaction at the demo merchant). ``simulate_events``
sends them through the public ingest API, the same path a real source takes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

SAVINGS_CATEGORIES = ["savings", "installment_savings", "deposit", "housing_subscription"]
OTHER_CATEGORIES = ["loan", "card", "insurance", "fund"]
SCREENS = ["home", "transfer", "accounts", "cards", "loans", "settings", "products"]
REGIONS = ["Gangnam-gu", "Seocho-gu", "Jung-gu", "Mapo-gu", "Songpa-gu", "Jongno-gu"]


@dataclass
class EventMix:
    """Yields event dicts for the ingest API; deterministic for a given seed."""

    customer_ids: list[str]
    merchant_ids: list[str] = field(default_factory=list)
    seed: int = 7

    def __post_init__(self) -> None:
        self._chance = random.Random(self.seed)
        self._pending: list[dict[str, object]] = []

    def _event(self, customer_id: str, type_: str, **attributes: object) -> dict[str, object]:
        return {
            "event_id": uuid.uuid4().hex,
            "type": type_,
            "customer_id": customer_id,
            "attributes": attributes,
        }

    def _story(self, customer_id: str) -> list[dict[str, object]]:
        chance = self._chance
        story = chance.choice(
            ["savings", "lost", "yield", "remittance", "branch", "merchant", "salary"]
        )
        if story == "savings":
            category = chance.choice(SAVINGS_CATEGORIES)
            return [self._event(customer_id, "product_view", category=category) for _ in range(3)]
        if story == "lost":
            screen = chance.choice(SCREENS)
            return [self._event(customer_id, "screen_view", screen=screen) for _ in range(4)]
        if story == "yield":
            return [self._event(customer_id, "yield_inquiry", product_id="deposit-12m")]
        if story == "remittance":
            return [self._event(customer_id, "foreign_remittance", channel="branch")]
        if story == "branch":
            return [self._event(customer_id, "branch_visit", branch_id="gangnam-main")]
        if story == "salary":
            return [self._event(customer_id, "salary_deposit", amount=3_200_000)]
        merchant_id = chance.choice(self.merchant_ids) if self.merchant_ids else "m-demo"
        return [
            self._event(
                customer_id,
                "card_transaction",
                amount=chance.choice([4_500, 6_000, 12_000]),
                merchant_id=merchant_id,
                region="Gangnam-gu",
            )
        ]

    def _noise(self, customer_id: str) -> dict[str, object]:
        chance = self._chance
        roll = chance.random()
        if roll < 0.45:
            return self._event(customer_id, "screen_view", screen=chance.choice(SCREENS))
        if roll < 0.7:
            return self._event(
                customer_id, "product_view", category=chance.choice(OTHER_CATEGORIES)
            )
        return self._event(
            customer_id,
            "card_transaction",
            amount=chance.randint(1_000, 200_000),
            merchant_id=f"m-{chance.randint(1, 500)}",
            region=chance.choice(REGIONS),
        )

    def events(self, story_share: float = 0.05) -> Iterator[dict[str, object]]:
        while True:
            if self._pending:
                yield self._pending.pop(0)
                continue
            customer_id = self._chance.choice(self.customer_ids)
            if self._chance.random() < story_share:
                self._pending.extend(self._story(customer_id))
                continue
            yield self._noise(customer_id)

    def batch(self, size: int) -> list[dict[str, object]]:
        stream = self.events()
        return [next(stream) for _ in range(size)]
