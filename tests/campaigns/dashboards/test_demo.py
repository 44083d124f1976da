"""Demo history: filled dashboards after ``seed_demo``, and nothing added twice."""

from __future__ import annotations

import pytest

from campaigns.dashboards import selectors
from campaigns.dashboards.demo import demo_dashboards_ensure
from campaigns.models import Decision

pytestmark = pytest.mark.django_db


def test_demo_history_fills_the_dashboards_once(campaign_make):
    campaign = campaign_make("Demo savings")
    campaign_make("A draft", status="draft")

    first = demo_dashboards_ensure()
    second = demo_dashboards_ensure()

    assert first.campaigns == 1
    assert first.decisions > 1000
    assert second.decisions == 0
    assert Decision.objects.filter(campaign=campaign).count() == first.decisions
    figures = selectors.campaign_figures(
        campaign=campaign, range_=selectors.range_parse("30d"), live=False
    )
    assert figures["totals"]["triggered"] == first.decisions
    assert figures["totals"]["held_out"] > 0
    assert figures["totals"]["converted_offer"] > 0
    assert figures["totals"]["delivered"] > 0
    assert figures["lift"]["rate_control"] is not None


def test_demo_history_needs_demo_campaigns():
    assert demo_dashboards_ensure().campaigns == 0
