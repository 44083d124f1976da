"""Builders of decisions, conversions and deliveries for the dashboard tests.

Decisions and conversions go through ``realtime.live.store.decisions_write``, the bulk writer the
live engine uses; deliveries through ``campaigns.offers.delivery.deliveries_create``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def campaign_make(make_user: Callable[..., Any]) -> Callable[..., Any]:
    from campaigns.models import Campaign, CampaignStatus

    owner = make_user("marketer")

    def make(name: str = "Savings nudge", **fields: Any) -> Any:
        fields.setdefault("status", CampaignStatus.PUBLISHED)
        return Campaign.objects.create(name=name, owner=owner, **fields)

    return make


def engine_decision(
    campaign_id: int,
    *,
    outcome: str = "offer",
    at: dt.datetime,
    variant: str | None = "A",
    reason: str | None = None,
    customer_id: str | None = None,
    actions: tuple[Any, ...] = (),
) -> Any:
    from realtime.engine.model import Decision

    return Decision(
        decision_id=str(uuid.uuid4()),
        campaign_id=campaign_id,
        version=1,
        customer_id=customer_id or f"c-{uuid.uuid4().hex[:8]}",
        trigger_event_id=f"e-{uuid.uuid4().hex[:8]}",
        outcome=outcome,  # type: ignore[arg-type]
        suppression_reason=reason,  # type: ignore[arg-type]
        variant=variant,
        actions=actions,
        explanation=(),
        occurred_at=at.timestamp(),
    )


def engine_conversion(decision: Any, *, at: dt.datetime, revenue: float | None = None) -> Any:
    from realtime.engine.model import Conversion

    return Conversion(
        decision_id=decision.decision_id,
        campaign_id=decision.campaign_id,
        customer_id=decision.customer_id,
        event_id=f"g-{uuid.uuid4().hex[:8]}",
        revenue=revenue,
        ts=at.timestamp(),
        outcome=decision.outcome,
    )


@pytest.fixture
def write() -> Callable[..., None]:
    from realtime.live.store import decisions_write

    def run(decisions: list[Any] = (), conversions: list[Any] = ()) -> None:  # type: ignore[assignment]
        decisions_write(decisions=list(decisions), conversions=list(conversions))

    return run


@pytest.fixture(name="engine_decision")
def engine_decision_fixture() -> Callable[..., Any]:
    return engine_decision


@pytest.fixture(name="engine_conversion")
def engine_conversion_fixture() -> Callable[..., Any]:
    return engine_conversion
