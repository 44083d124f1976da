"""Demo history for the dashboards: two weeks of decisions, deliveries and conversions for the
demo campaigns that have none, so a fresh ``make run`` shows filled dashboards.

Written the way the platform writes them (decisions and conversions through the live engine's
bulk writer, deterministic ids so a second run adds nothing), then rolled up.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from django.utils import timezone

from campaigns.dashboards import services
from campaigns.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Offer,
)
from realtime.engine.model import Conversion, Decision, OfferAction
from realtime.live.store import decisions_write

DAYS = 14
NAMESPACE = uuid.UUID("8f0c4bd8-5f0e-4a43-9a1b-1f0f5c0dd5a1")
REASONS = ("cap", "quiet_hours", "budget", "arbitration")


@dataclass(frozen=True)
class DemoResult:
    campaigns: int
    decisions: int
    conversions: int


def _offer_of(campaign: Campaign) -> tuple[str | None, str]:
    spec = campaign.live_version.spec if campaign.live_version else campaign.draft_spec
    for action in spec.get("actions") or []:
        if isinstance(action, dict) and action.get("offer"):
            return str(action["offer"]), str(action.get("channel") or "push")
    return None, "push"


def _variants_of(campaign: Campaign) -> list[str]:
    spec = campaign.live_version.spec if campaign.live_version else campaign.draft_spec
    names = [
        str(variant.get("name"))
        for variant in spec.get("variants") or []
        if isinstance(variant, dict) and variant.get("name")
    ]
    return names or [""]


def demo_dashboards_ensure(*, now: dt.datetime | None = None, seed: int = 8) -> DemoResult:
    """History for every non-draft campaign without decisions; nothing when there is none."""
    from segments.models import Customer

    now = now or timezone.now()
    campaigns = [
        campaign
        for campaign in Campaign.objects.exclude(status=CampaignStatus.DRAFT).select_related(
            "live_version"
        )
        if not campaign.decisions.exists()
    ]
    if not campaigns:
        return DemoResult(0, 0, 0)
    customers = list(Customer.objects.values_list("customer_id", flat=True)[:2000]) or [
        f"demo-{n:04d}" for n in range(500)
    ]
    chance = random.Random(seed)
    total_decisions = total_conversions = 0
    deliveries: list[Delivery] = []
    for rank, campaign in enumerate(campaigns):
        offer_slug, channel = _offer_of(campaign)
        offer = Offer.objects.filter(slug=offer_slug).first() if offer_slug else None
        variants = _variants_of(campaign)
        base_rate = 0.04 + 0.02 * (rank % 3)
        uplift = (0.6, 0.25, 0.0, 0.4)[rank % 4]
        decisions: list[Decision] = []
        conversions: list[Conversion] = []
        start = now - dt.timedelta(days=DAYS)
        for hour in range(DAYS * 24):
            moment = start + dt.timedelta(hours=hour)
            local_hour = timezone.localtime(moment).hour
            volume = chance.randint(2, 6) + (8 if 9 <= local_hour <= 21 else 0)
            for n in range(volume):
                customer = chance.choice(customers)
                at = moment + dt.timedelta(seconds=chance.uniform(0, 3599))
                if at >= now:
                    continue
                roll = chance.random()
                outcome = "offer"
                reason = None
                if roll < 0.15:
                    outcome = "held_out"
                elif roll < 0.23:
                    outcome, reason = "suppressed", chance.choice(REASONS)
                variant = chance.choice(variants)
                decision_id = str(uuid.uuid5(NAMESPACE, f"{campaign.id}:{hour}:{n}"))
                actions = (OfferAction(offer=offer_slug, channel=channel),) if offer_slug else ()
                decision = Decision(
                    decision_id=decision_id,
                    campaign_id=campaign.id,
                    version=campaign.live_version.number if campaign.live_version else 1,
                    customer_id=customer,
                    trigger_event_id=f"demo-{decision_id[:13]}",
                    outcome=outcome,  # type: ignore[arg-type]  # one of the literals above
                    suppression_reason=reason,  # type: ignore[arg-type]
                    variant=variant or None,
                    actions=actions if outcome != "suppressed" else (),
                    explanation=(),
                    occurred_at=at.timestamp(),
                )
                decisions.append(decision)
                rate = base_rate * (1 + uplift) if outcome == "offer" else base_rate
                if variant and variant == variants[-1] and len(variants) > 1:
                    rate *= 1.15
                if outcome != "suppressed" and chance.random() < rate:
                    converted_at = at + dt.timedelta(hours=chance.uniform(0.2, 30))
                    if converted_at < now:
                        conversions.append(
                            Conversion(
                                decision_id=decision_id,
                                campaign_id=campaign.id,
                                customer_id=customer,
                                event_id=f"demo-goal-{decision_id[:13]}",
                                revenue=float(chance.choice((10000, 30000, 50000, 120000))),
                                ts=converted_at.timestamp(),
                                outcome=outcome,  # type: ignore[arg-type]
                            )
                        )
                if outcome == "offer":
                    deliveries.append(_delivery(decision, at, offer, channel, chance, now))
        decisions_write(decisions=decisions, conversions=conversions)
        total_decisions += len(decisions)
        total_conversions += len(conversions)
    _deliveries_write(deliveries)
    services.rollup_refresh(lag_s=0, reconcile=False)
    services.rollup_refresh(lag_s=0, reconcile=False)
    # Deliveries carry past send times, below the watermark: the rebuild reads them.
    today = timezone.localdate(now)
    day = today - dt.timedelta(days=DAYS)
    while day <= today:
        services.rollup_rebuild(first=day, last=day)
        day += dt.timedelta(days=1)
    return DemoResult(len(campaigns), total_decisions, total_conversions)


def _delivery(
    decision: Decision,
    at: dt.datetime,
    offer: Offer | None,
    channel: str,
    chance: random.Random,
    now: dt.datetime,
) -> Delivery:
    sent_at = at + dt.timedelta(seconds=chance.uniform(0.5, 5))
    roll = chance.random()
    fields: dict[str, object] = {"status": DeliveryStatus.SENT, "sent_at": sent_at}
    if roll < 0.04:
        fields = {"status": DeliveryStatus.FAILED, "failed_at": sent_at}
    elif roll < 0.9:
        fields = {
            "status": DeliveryStatus.DELIVERED,
            "sent_at": sent_at,
            "delivered_at": sent_at + dt.timedelta(seconds=chance.uniform(1, 30)),
        }
        if chance.random() < 0.22:
            fields["clicked_at"] = min(now, sent_at + dt.timedelta(minutes=chance.uniform(1, 90)))
    return Delivery(
        decision_id=decision.decision_id,
        action_index=0,
        campaign_id=decision.campaign_id,
        customer_id=decision.customer_id,
        kind=DeliveryKind.OFFER if offer is not None else DeliveryKind.STAFF,
        offer=offer,
        channels=[channel],
        channel=channel,
        attempts=1,
        **fields,
    )


def _deliveries_write(rows: list[Delivery]) -> None:
    from campaigns.models import Decision as DecisionRow

    existing = set(
        DecisionRow.objects.filter(pk__in=[row.decision_id for row in rows]).values_list(
            "pk", flat=True
        )
    )
    rows = [row for row in rows if uuid.UUID(str(row.decision_id)) in existing]
    Delivery.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
