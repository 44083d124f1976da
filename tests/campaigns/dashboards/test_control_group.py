"""The control group gets nothing: held-out decisions go through delivery and send nothing, and
the dashboard shows zero sends to held-out customers next to the offered ones' sends."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer

from campaigns.dashboards import services
from campaigns.models import Delivery
from campaigns.offers import services as offer_services
from campaigns.offers.delivery import deliveries_create, deliveries_send
from realtime.delivery import backends_reset
from realtime.engine.model import OfferAction

pytestmark = pytest.mark.django_db


def test_held_out_decisions_never_send_and_the_dashboard_shows_zero_control_sends(
    httpserver: HTTPServer, settings, campaign_make, write, engine_decision, api_as
):
    # given a webhook channel served locally, costing 2 per message
    from segments.models import Customer

    httpserver.expect_request("/hook", method="POST").respond_with_json({"id": "m-1"})
    channels = {name: dict(options) for name, options in settings.CDP_CHANNELS.items()}
    channels["webhook"]["URL"] = httpserver.url_for("/hook")
    settings.CDP_CHANNELS = channels
    settings.CDP_CHANNEL_COST = {"webhook": 2.0}
    backends_reset()
    offer_services.offer_create(
        values={
            "slug": "dash-offer",
            "name": "Savings coupon",
            "webhook_payload": {"who": "{{ customer.id }}"},
        }
    )
    campaign = campaign_make()
    action = (OfferAction(offer="dash-offer", channel="webhook"),)
    at = timezone.now() - dt.timedelta(minutes=2)
    offered = [
        engine_decision(campaign.id, at=at, customer_id=f"offered-{n}", actions=action)
        for n in range(3)
    ]
    held_out = [
        engine_decision(
            campaign.id, at=at, outcome="held_out", customer_id=f"control-{n}", actions=action
        )
        for n in range(3)
    ]
    for decision in offered + held_out:
        Customer.objects.create(customer_id=decision.customer_id, traits={"first_name": "Minji"})

    # when the decisions are written and delivered as the live pipeline does
    with override_settings(CDP_PUBLIC_URL="https://cdp.example"):
        write(offered + held_out)
        queued = deliveries_create(decision_ids=[d.decision_id for d in offered + held_out])
        deliveries_send(delivery_ids=queued)
    services.rollup_refresh(lag_s=0)
    backends_reset()

    # then only the offered customers got a message
    receivers = sorted(request.get_json()["customer_id"] for request, _ in httpserver.log)
    assert receivers == ["offered-0", "offered-1", "offered-2"]
    control_rows = Delivery.objects.filter(customer_id__startswith="control-")
    assert sorted(control_rows.values_list("status", flat=True)) == ["held_out"] * 3
    assert not control_rows.filter(sent_at__isnull=False).exists()
    # and the dashboard counts three sends, none of them to the control group
    figures = api_as("analyst").get(f"/api/v1/campaigns/{campaign.id}/stats?range=1h").json()
    assert figures["totals"]["sent"] == 3
    assert figures["totals"]["held_out"] == 3
    assert figures["control_sends"] == 0
    assert figures["money"]["send_cost"] == 6.0
