"""The designer over HTTP, as htmx calls it: open, edit in place, errors on the block."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.gallery import GALLERY, gallery_ensure, gallery_offers_ensure
from campaigns.models import Campaign, CampaignTemplate
from realtime.demo import demo_event_types_ensure


@pytest.fixture
def catalog(db: None) -> None:
    demo_event_types_ensure()
    gallery_offers_ensure()
    gallery_ensure()


def edit(client: Any, campaign: Campaign, **data: Any) -> Any:
    campaign.refresh_from_db()
    data.setdefault("revision", campaign.revision)
    return client.post(
        reverse("campaigns:designer-edit", args=[campaign.pk]), data, HTTP_HX_REQUEST="true"
    )


def from_template(client: Any, slug: str) -> Campaign:
    response = client.post(reverse("campaigns:new"), {"template": slug, "name": "Mine"})
    assert response.status_code == 302
    return Campaign.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))


def test_every_gallery_template_compiles_and_explains_each_condition(
    client_as: Any, catalog: None
) -> None:
    client = client_as("marketer")
    for entry in GALLERY:
        campaign = from_template(client, entry.slug)
        page = client.get(reverse("campaigns:designer", args=[campaign.pk]))
        assert page.status_code == 200
        assert b"ready to publish" in page.content, entry.slug
        trigger = entry.spec["trigger"]
        if "event" not in trigger:
            continue  # a date trigger fires from the profile, not from a test event
        where = trigger.get("where")
        attributes = (
            {where["attr"]: where["value"] if where["op"] == "=" else where["value"][0]}
            if where
            else {}
        )
        response = client.post(
            reverse("campaigns:test-event", args=[campaign.pk]),
            {
                "type": trigger["event"],
                "attributes": __import__("json").dumps(attributes),
                "profile": '{"age": 30}',
                "earlier": "0",
                "at": "2026-12-05T12:00" if "schedule" in entry.spec else "",
            },
        )
        assert response.status_code == 200
        text = response.content.decode()
        conditions = entry.spec.get("conditions", {}).get("all", [])
        for index in range(len(conditions)):
            assert f"Condition {index + 1}" in text, (entry.slug, text)


def test_editing_a_value_updates_summary_and_shows_errors_on_the_block(
    client_as: Any, catalog: None
) -> None:
    client = client_as("marketer")
    campaign = from_template(client, "viewed-but-did-not-sign-up")
    # when the age range is changed
    response = edit(
        client, campaign, op="set", path="conditions.all[1].value[1]", value="60", kind="number"
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "age is 19\u201360" in text and 'id="designer-summary"' in text
    campaign.refresh_from_db()
    assert campaign.draft_spec["conditions"]["all"][1]["value"] == [19, 60]
    # when a bad value is typed, the error lands on that condition's block
    response = edit(
        client, campaign, op="set", path="conditions.all[1].value[1]", value="sixty", kind="number"
    )
    text = response.content.decode()
    errors = re.search(r'id="err-b-conditions-all-1"[^>]*>(.*?)</div>\s*<div', text, re.S)
    assert errors is not None and "between" in errors.group(1)
    assert 'data-testid="publish" disabled' in text


def test_add_move_negate_and_remove_blocks(client_as: Any, catalog: None) -> None:
    client = client_as("marketer")
    campaign = from_template(client, "viewed-but-did-not-sign-up")
    edit(client, campaign, op="add", path="conditions.all", what="segment")
    campaign.refresh_from_db()
    assert campaign.draft_spec["conditions"]["all"][2] == {"segment": ""}
    edit(client, campaign, op="up", path="conditions.all[2]")
    edit(client, campaign, op="toggle", what="negate", path="conditions.all[1]")
    campaign.refresh_from_db()
    assert campaign.draft_spec["conditions"]["all"][1] == {"not": {"segment": ""}}
    edit(client, campaign, op="remove", path="conditions.all[1]")
    edit(client, campaign, op="toggle", what="ab", path="actions")
    campaign.refresh_from_db()
    assert len(campaign.draft_spec["conditions"]["all"]) == 2
    assert [v["name"] for v in campaign.draft_spec["variants"]] == ["A", "B"]
    assert "actions" not in campaign.draft_spec


def test_a_stale_page_gets_a_conflict_message_not_a_silent_overwrite(
    client_as: Any, make_user: Any, catalog: None
) -> None:
    client = client_as("marketer")
    campaign = from_template(client, "viewed-but-did-not-sign-up")
    stale = campaign.revision
    other = make_user("marketer", username="bo")
    spec = dict(campaign.draft_spec, name="Bo's name")
    services.campaign_update(campaign=campaign, user=other, spec=spec, validate=False)
    response = edit(
        client,
        campaign,
        op="set",
        path="guards.holdout",
        value="50",
        kind="percent",
        revision=stale,
    )
    assert "bo changed this draft" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.draft_spec["guards"]["holdout"] == 0.1


def test_locked_template_fields_cannot_be_changed_by_a_marketer(
    client_as: Any, catalog: None
) -> None:
    client = client_as("marketer")
    assert CampaignTemplate.objects.get(slug="merchant-offer").locked_paths == ["guards.budget"]
    campaign = from_template(client, "merchant-offer")
    page = client.get(reverse("campaigns:designer", args=[campaign.pk])).content.decode()
    assert re.search(r'data-path="guards\.budget\.max_offers"\s[^>]*disabled', page)
    response = edit(
        client, campaign, op="set", path="guards.budget.max_offers", value="9999", kind="number"
    )
    assert "locked" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.draft_spec["guards"]["budget"] == {"max_offers": 500}


def test_version_diff_in_words_and_rollback(client_as: Any, catalog: None) -> None:
    client = client_as("marketer")
    campaign = from_template(client, "viewed-but-did-not-sign-up")
    client.post(reverse("campaigns:lifecycle", args=[campaign.pk, "publish"]))
    edit(client, campaign, op="set", path="unless.within", value="10 minutes", kind="duration")
    client.post(reverse("campaigns:lifecycle", args=[campaign.pk, "publish"]))
    diff = client.get(reverse("campaigns:version-diff", args=[campaign.pk, 2])).content.decode()
    assert "within 7 minutes” → “does not have a product subscribed event within 10 minutes" in diff
    client.post(reverse("campaigns:rollback", args=[campaign.pk, 1]))
    campaign.refresh_from_db()
    assert campaign.live_version.number == 3
    assert campaign.draft_spec["unless"]["within"] == "7m"
    audit = client.get(reverse("campaigns:designer-tab", args=[campaign.pk, "audit"]))
    assert "rolled back" in audit.content.decode()
    versions = client.get(reverse("campaigns:designer-tab", args=[campaign.pk, "versions"]))
    assert [int(n) for n in re.findall(r'data-version="(\d+)"', versions.content.decode())] == [
        3,
        2,
        1,
    ]


def test_a_deleted_event_type_marks_its_block_and_blocks_publishing(
    client_as: Any, catalog: None
) -> None:
    from realtime.models import EventType

    client = client_as("marketer")
    campaign = from_template(client, "viewed-but-did-not-sign-up")
    EventType.objects.filter(name="product_subscribed").delete()
    page = client.get(reverse("campaigns:designer", args=[campaign.pk])).content.decode()
    unless_errors = re.search(r'id="err-b-unless"[^>]*>(.*?)</div></div>', page, re.S)
    assert unless_errors is not None
    assert "there is no event type 'product_subscribed'" in html.unescape(unless_errors.group(1))
    assert 'data-testid="publish" disabled' in page
    response = client.post(reverse("campaigns:lifecycle", args=[campaign.pk, "publish"]))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.live_version is None and campaign.status == "draft"


def test_test_event_can_use_the_customers_recent_events(client_as: Any, catalog: None) -> None:
    import json
    import time

    import orjson

    from realtime.ingest import services as ingest

    client = client_as("marketer")
    campaign = from_template(client, "viewed-but-did-not-sign-up")
    key = ingest.source_create(name="app")[1]
    now = time.time()
    views = [
        {
            "type": "product_view",
            "customer_id": "C77",
            "timestamp": now - 120 + i,
            "attributes": {"category": "deposit"},
        }
        for i in range(2)
    ]
    posted = client.post(
        "/api/v1/events",
        data=orjson.dumps({"events": views}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert posted.status_code == 200
    form = {
        "type": "product_view",
        "customer_id": "C77",
        "earlier": "0",
        "attributes": json.dumps({"category": "savings"}),
        "profile": '{"age": 33}',
    }
    alone = client.post(reverse("campaigns:test-event", args=[campaign.pk]), form)
    assert '✗ <span class="text-muted">Condition 1</span>' in alone.content.decode()
    with_history = client.post(
        reverse("campaigns:test-event", args=[campaign.pk]), {**form, "recent": "1"}
    )
    text = with_history.content.decode()
    assert '✓ <span class="text-muted">Condition 1</span>' in text
    assert "{&#x27;count&#x27;: 3}" in text
