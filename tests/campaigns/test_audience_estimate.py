"""Estimate audience: archived events replayed through a draft, counted step by step.

Events go in through the public ingest API and the real archiver (stream → PostgreSQL); the
estimate is started over the API, and its task (called here as a Celery worker would) replays
the archive through the engine core next to the live campaigns.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import orjson
import pytest

from campaigns.estimates import audience_estimate_run
from campaigns.gallery import gallery_entry, gallery_offers_ensure
from campaigns.models import AudienceEstimate
from realtime.demo import demo_event_types_ensure
from realtime.engine.guards import is_held_out
from realtime.ingest import services as ingest
from realtime.ingest.archive import Archiver


@pytest.fixture
def source_key(db: None) -> str:
    demo_event_types_ensure()
    gallery_offers_ensure()
    return ingest.source_create(name="app")[1]


def post_events(client: Any, key: str, events: list[dict[str, Any]]) -> None:
    response = client.post(
        "/api/v1/events",
        data=orjson.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200, response.content
    assert not response.json()["rejected"], response.json()


def view(customer: str, ts: float, n: int, category: str = "savings") -> dict[str, Any]:
    return {
        "event_id": f"{customer}-view-{n}",
        "type": "product_view",
        "customer_id": customer,
        "timestamp": ts,
        "attributes": {"category": category},
    }


def test_estimate_counts_customers_step_by_step_over_the_archive(
    client: Any, api_as: Any, source_key: str
) -> None:
    marketer = api_as("marketer")
    entry = gallery_entry("viewed-but-did-not-sign-up")
    assert entry is not None
    spec = copy.deepcopy(entry.spec)
    draft = marketer.post("/api/v1/campaigns", {"name": "Nudge", "spec": spec}, format="json")
    campaign_id = draft.json()["id"]
    # a live campaign that offers on every product view: it collides with the draft
    live_spec = {
        "spec": 1,
        "name": "Every view",
        "trigger": {"event": "product_view"},
        "actions": [{"offer": "re-deposit-offer", "channel": "sms"}],
        "guards": {"cap": {"max": 1, "per": "30d"}},
    }
    live = marketer.post(
        "/api/v1/campaigns", {"name": "Every view", "spec": live_spec}, format="json"
    ).json()
    assert marketer.post(f"/api/v1/campaigns/{live['id']}/publish").status_code == 201

    def customer(tag: str) -> str:
        return next(
            f"{tag}{n}" for n in range(999) if not is_held_out(0.1, campaign_id, f"{tag}{n}")
        )

    offered, old, few_views, subscribed, loan = (customer(t) for t in "ABCDE")
    admin = api_as("admin")
    for who, age in ((offered, 30), (old, 60), (few_views, 30), (subscribed, 30), (loan, 40)):
        assert admin.put(
            f"/api/v1/customers/{who}", {"traits": {"age": age}}, format="json"
        ).status_code in (200, 201)
    start = time.time() - 2 * 86400
    events = []
    for who, views in ((offered, 3), (old, 3), (few_views, 2), (subscribed, 3)):
        events += [view(who, start + 60 * n, n) for n in range(views)]
    events.append(
        {
            "event_id": "D-sub",
            "type": "product_subscribed",
            "customer_id": subscribed,
            "timestamp": start + 300,
            "attributes": {"category": "savings"},
        }
    )
    events += [view(loan, start + 60 * n, n, category="loan") for n in range(3)]
    post_events(client, source_key, events)
    archiver = Archiver(block_ms=10)
    while archiver.step():
        pass

    # when the marketer starts an estimate over the last 3 days
    started = marketer.post(f"/api/v1/campaigns/{campaign_id}/estimate", {"days": 3}, format="json")
    assert started.status_code == 202
    assert started.json()["status"] == "queued"
    estimate_id = started.json()["id"]
    audience_estimate_run(estimate_id=estimate_id)  # what the Celery task does

    # then
    body = marketer.get(f"/api/v1/estimates/{estimate_id}").json()
    assert body["status"] == "done" and body["percent"] == 100
    result = body["result"]
    steps = {step["key"]: step["customers"] for step in result["steps"]}
    assert steps == {
        "triggered": 4,  # the loan viewer never triggers
        "condition_1": 3,  # two views are not three
        "condition_2": 2,  # aged 60
        "conditions_held": 2,
        "decided": 1,  # the sign-up within 7 minutes cancels the wait
        "offered": 1,
    }
    assert [s["label"] for s in result["steps"]][1:3] == [
        "product view (category is savings, installment savings, deposit or housing "
        "subscription) at least 3 times in a day",
        "age is 19\u201355",
    ]
    assert result["offers"] == 1 and result["offers_by_slug"] == {"savings-signup-coupon": 1}
    assert result["cost"] == 5000.0
    assert result["collisions"] == [
        {"campaign_id": live["id"], "name": "Every view", "customers": 2}
    ]
    assert result["events"] >= 15
    # running the task again (a redelivery) changes nothing
    again = audience_estimate_run(estimate_id=estimate_id)
    assert again.result == AudienceEstimate.objects.get(pk=estimate_id).result


def test_estimate_rejects_a_draft_that_does_not_compile(api_as: Any, source_key: str) -> None:
    marketer = api_as("marketer")
    entry = gallery_entry("viewed-but-did-not-sign-up")
    assert entry is not None
    created = marketer.post(
        "/api/v1/campaigns", {"name": "N", "spec": entry.spec}, format="json"
    ).json()
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=created["id"]).update(draft_spec={**entry.spec, "delay": "soon"})
    response = marketer.post(
        f"/api/v1/campaigns/{created['id']}/estimate", {"days": 3}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "delay"
    assert not AudienceEstimate.objects.exists()
