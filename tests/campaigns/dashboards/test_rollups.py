"""The incremental rollup and its rebuild, over rows written the way the live engine writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaigns.dashboards import services
from campaigns.dashboards.models import CampaignRollup, Grain, SuppressionRollup

pytestmark = pytest.mark.django_db


def totals(campaign, grain=Grain.MINUTE, **filters):
    names = (
        "triggered",
        "offered",
        "held_out",
        "suppressed",
        "converted_offer",
        "converted_control",
        "converted_flow",
        "revenue_offer",
        "revenue_control",
    )
    row = CampaignRollup.objects.filter(campaign=campaign, grain=grain, **filters).aggregate(
        **{name: Sum(name) for name in names}
    )
    return {name: row[name] or 0 for name in names}


def test_refresh_counts_decisions_by_outcome_variant_and_reason(
    campaign_make, write, engine_decision, engine_conversion
):
    # given
    campaign = campaign_make()
    at = timezone.now().replace(second=10, microsecond=0) - dt.timedelta(minutes=3)
    write(
        [
            engine_decision(campaign.id, at=at, variant="A"),
            engine_decision(campaign.id, at=at, variant="A"),
            engine_decision(campaign.id, at=at, variant="B"),
            engine_decision(campaign.id, at=at, outcome="held_out", variant="A"),
            engine_decision(campaign.id, at=at, outcome="suppressed", reason="cap"),
            engine_decision(campaign.id, at=at, outcome="suppressed", reason="quiet_hours"),
            engine_decision(campaign.id, at=at, outcome="suppressed", reason="cap"),
        ]
    )

    # when
    result = services.rollup_refresh(lag_s=0)

    # then
    assert result.decisions == 7
    assert result.campaigns == {campaign.id}
    for grain in Grain:
        assert totals(campaign, grain) | {} == {
            "triggered": 7,
            "offered": 3,
            "held_out": 1,
            "suppressed": 3,
            "converted_offer": 0,
            "converted_control": 0,
            "converted_flow": 0,
            "revenue_offer": 0,
            "revenue_control": 0,
        }
    assert totals(campaign, variant="A")["offered"] == 2
    assert totals(campaign, variant="B")["offered"] == 1
    minute = CampaignRollup.objects.get(campaign=campaign, grain="m", variant="B")
    assert minute.bucket == at.replace(second=0)
    reasons = dict(
        SuppressionRollup.objects.filter(campaign=campaign, grain="d").values_list(
            "reason", "count"
        )
    )
    assert reasons == {"cap": 2, "quiet_hours": 1}


def test_refresh_is_incremental_and_never_counts_a_row_twice(
    campaign_make, write, engine_decision, engine_conversion
):
    campaign = campaign_make()
    at = timezone.now() - dt.timedelta(minutes=1)
    write([engine_decision(campaign.id, at=at) for _ in range(3)])
    services.rollup_refresh(lag_s=0)

    # when: nothing new, then two more
    again = services.rollup_refresh(lag_s=0)
    write([engine_decision(campaign.id, at=at) for _ in range(2)])
    more = services.rollup_refresh(lag_s=0)

    # then
    assert again.decisions == 0
    assert more.decisions == 2
    assert totals(campaign)["triggered"] == 5
    assert totals(campaign, Grain.HOUR)["triggered"] == 5
    assert totals(campaign, Grain.DAY)["triggered"] == 5


def test_conversions_count_once_per_decision_in_the_decision_bucket(
    campaign_make, write, engine_decision, engine_conversion
):
    # given: an offer converting twice and a held-out customer converting once
    campaign = campaign_make()
    at = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=2)
    offer = engine_decision(campaign.id, at=at)
    control = engine_decision(campaign.id, at=at, outcome="held_out")
    write([offer, control])
    later = at + dt.timedelta(minutes=30)
    write(
        conversions=[
            engine_conversion(offer, at=later, revenue=10000.0),
            engine_conversion(offer, at=later, revenue=5000.0),
            engine_conversion(control, at=later, revenue=3000.0),
        ]
    )

    # when: conversions are read one run behind their ids
    services.rollup_refresh(lag_s=0)
    services.rollup_refresh(lag_s=0)

    # then
    figures = totals(campaign)
    assert figures["converted_offer"] == 1
    assert figures["converted_control"] == 1
    assert figures["converted_flow"] == 1
    assert figures["revenue_offer"] == Decimal("15000.00")
    assert figures["revenue_control"] == Decimal("3000.00")
    cohort = CampaignRollup.objects.get(campaign=campaign, grain="m", bucket=at)
    assert cohort.converted_offer == 1
    flow = CampaignRollup.objects.get(campaign=campaign, grain="m", bucket=later)
    assert (flow.converted_flow, flow.triggered) == (1, 0)


def test_rebuild_recomputes_the_same_figures_as_the_incremental_runs(
    campaign_make, write, engine_decision, engine_conversion
):
    campaign = campaign_make()
    at = timezone.now() - dt.timedelta(minutes=5)
    decisions = [engine_decision(campaign.id, at=at) for _ in range(4)]
    decisions.append(engine_decision(campaign.id, at=at, outcome="suppressed", reason="budget"))
    write(decisions, [engine_conversion(decisions[0], at=at, revenue=100.0)])
    services.rollup_refresh(lag_s=0)
    services.rollup_refresh(lag_s=0)
    before = {grain: totals(campaign, grain) for grain in Grain}
    # a row the incremental runs would have missed (inserted with an old decided_at)
    CampaignRollup.objects.filter(campaign=campaign).update(triggered=999)

    # when
    today = timezone.localdate()
    services.rollup_rebuild(first=today - dt.timedelta(days=1), last=today)

    # then
    assert {grain: totals(campaign, grain) for grain in Grain} == before
    assert SuppressionRollup.objects.get(campaign=campaign, grain="h").count == 1


def test_rollup_of_a_deleted_campaign_is_skipped(
    campaign_make, write, engine_decision, engine_conversion
):
    campaign = campaign_make()
    write([engine_decision(campaign.id, at=timezone.now())])
    campaign_id = campaign.id
    campaign.delete()

    services.rollup_refresh(lag_s=0)

    assert not CampaignRollup.objects.filter(campaign_id=campaign_id).exists()
