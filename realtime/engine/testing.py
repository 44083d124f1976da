"""Builders for tests and previews: events with sequential ids, rule specs with defaults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .model import Event

#: Monday 8 December 2025, 10:00 in Seoul (01:00 UTC): outside any usual quiet hours.
T0 = dt.datetime(2025, 12, 8, 1, 0, tzinfo=dt.UTC).timestamp()
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


class EventFactory:
    """``events("product_view", "c1", at=120, category="savings")`` -> an Event at T0 + 120 s."""

    def __init__(self, start: float = T0, prefix: str = "e") -> None:
        self.start = start
        self.prefix = prefix
        self.count = 0

    def __call__(
        self, type: str, customer: str = "c1", at: float = 0.0, **attributes: object
    ) -> Event:
        self.count += 1
        return Event(f"{self.prefix}{self.count}", type, customer, self.start + at, attributes)


def rule(
    trigger: Mapping[str, object] | str,
    *,
    name: str = "test rule",
    actions: list[Mapping[str, object]] | None = None,
    **fields: object,
) -> dict[str, object]:
    """A valid spec: ``trigger`` may be just an event type; actions default to a push offer."""
    spec: dict[str, object] = {
        "spec": 1,
        "name": name,
        "trigger": {"event": trigger} if isinstance(trigger, str) else dict(trigger),
    }
    if "variants" not in fields:
        spec["actions"] = actions or [{"offer": "test-offer", "channel": "push"}]
    spec.update(fields)
    return spec
