"""The campaign API, through HTTP as a script or the designer would call it."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import timezone

from campaigns.gallery import gallery_entry, gallery_offers_ensure
from campaigns.models import Campaign, Decision


@pytest.fixture
def spec(db: None) -> dict[str, Any]:
    gallery_offers_ensure()
    entry = gallery_entry("viewed-but-did-not-sign-up")
    assert entry is not None
    return copy.deepcopy(entry.spec)


def create(api: Any, spec: dict[str, Any], name: str = "Nudge") -> dict[str, Any]:
    response = api.post("/api/v1/campaigns", {"name": name, "spec": spec}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_with_an_invalid_spec_answers_400_naming_the_path(
    api_as: Any, spec: dict[str, Any]
) -> None:
    api = api_as("marketer")
    spec["unless"]["within"] = "seven minutes"
    spec["guards"]["holdout"] = 1.5
    response = api.post("/api/v1/campaigns", {"name": "Nudge", "spec": spec}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_spec"
    assert [error["path"] for error in body["errors"]] == ["unless.within", "guards.holdout"]
    assert body["errors"][1]["message"].startswith("Holdout: a share from 0")
    assert not Campaign.objects.exists()


def test_create_get_and_update_round_trip_the_spec(api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as("marketer")
    created = create(api, spec)
    fetched = api.get(f"/api/v1/campaigns/{created['id']}").json()
    assert fetched["spec"] == spec and fetched["status"] == "draft"
    # saving it back unchanged changes nothing, byte for byte
    before = api.get(f"/api/v1/campaigns/{created['id']}").content
    saved = api.put(
        f"/api/v1/campaigns/{created['id']}",
        {"spec": fetched["spec"], "revision": fetched["revision"]},
        format="json",
    )
    assert saved.status_code == 200
    after = api.get(f"/api/v1/campaigns/{created['id']}").content
    assert before == after


def test_update_from_a_stale_revision_answers_409(api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as("marketer")
    created = create(api, spec)
    url = f"/api/v1/campaigns/{created['id']}"
    spec["guards"]["holdout"] = 0.2
    assert api.put(url, {"spec": spec, "revision": 1}, format="json").status_code == 200
    spec["guards"]["holdout"] = 0.3
    stale = api.put(url, {"spec": spec, "revision": 1}, format="json")
    assert stale.status_code == 409
    assert "Reload" in stale.json()["error"]
    assert api.get(url).json()["spec"]["guards"]["holdout"] == 0.2


def test_publish_makes_an_immutable_version(api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as("marketer")
    created = create(api, spec)
    url = f"/api/v1/campaigns/{created['id']}"
    published = api.post(f"{url}/publish", {"comment": "go"}, format="json")
    assert published.status_code == 201
    assert published.json()["number"] == 1
    spec["conditions"]["all"][1]["value"] = [19, 60]
    api.put(url, {"spec": spec}, format="json")
    versions = api.get(f"{url}/versions").json()
    assert [v["number"] for v in versions] == [1]
    assert versions[0]["spec"]["conditions"]["all"][1]["value"] == [19, 55]
    assert api.post(f"{url}/publish").json()["number"] == 2
    assert [v["number"] for v in api.get(f"{url}/versions").json()] == [2, 1]
    assert api.get(url).json()["live_version"] == 2


def test_pause_and_resume(api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as("marketer")
    url = f"/api/v1/campaigns/{create(api, spec)['id']}"
    refused = api.post(f"{url}/pause")
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("Only a published campaign can be paused")
    api.post(f"{url}/publish")
    assert api.post(f"{url}/pause").json()["status"] == "paused"
    assert api.post(f"{url}/resume").json()["status"] == "published"
    assert api.post(f"{url}/archive").json()["status"] == "archived"


def test_approval_by_a_second_person_over_the_api(api_as: Any, spec: dict[str, Any]) -> None:
    ana, ben = api_as("marketer"), api_as("marketer")
    created = ana.post(
        "/api/v1/campaigns",
        {"name": "Merchant", "spec": spec, "requires_approval": True},
        format="json",
    ).json()
    url = f"/api/v1/campaigns/{created['id']}"
    assert ana.post(f"{url}/publish").status_code == 409
    assert ana.post(f"{url}/submit", {"comment": "ready"}, format="json").status_code == 200
    assert ana.post(f"{url}/approve").status_code == 403
    assert ben.post(f"{url}/approve", {"comment": "ok"}, format="json").status_code == 200
    assert ana.post(f"{url}/publish").status_code == 201


def test_analysts_read_but_do_not_write(api_as: Any, spec: dict[str, Any]) -> None:
    created = create(api_as("marketer"), spec)
    analyst = api_as("analyst")
    assert analyst.get("/api/v1/campaigns").status_code == 200
    assert analyst.get(f"/api/v1/campaigns/{created['id']}").status_code == 200
    assert (
        analyst.post("/api/v1/campaigns", {"name": "x", "spec": spec}, format="json").status_code
        == 403
    )
    assert analyst.post(f"/api/v1/campaigns/{created['id']}/publish").status_code == 403
    assert api_as("merchant").get("/api/v1/campaigns").status_code == 403


def test_decisions_are_listed_with_explanations_by_campaign_and_customer(
    api_as: Any, spec: dict[str, Any]
) -> None:
    api = api_as("marketer")
    campaign = Campaign.objects.get(pk=create(api, spec)["id"])
    other = Campaign.objects.get(pk=create(api, spec, name="Other")["id"])
    start = timezone.now() - dt.timedelta(hours=1)
    for index in range(60):
        Decision.objects.create(
            id=uuid.uuid4(),
            campaign=campaign if index < 55 else other,
            version=1,
            customer_id=f"C{index % 3}",
            trigger_event_id=f"e{index}",
            outcome="offer",
            actions=[{"offer": "savings-signup-coupon", "channel": "push"}],
            explanation=[{"kind": "condition", "path": "conditions.all[1]",
                          "text": "Condition 2: age is between 19 and 55", "held": True,
                          "values": {"age": 30}}],
            occurred_at=start + dt.timedelta(seconds=index),
        )  # fmt: skip
    first = api.get(f"/api/v1/decisions?campaign={campaign.pk}").json()
    assert first["count"] == 55 and len(first["results"]) == 50 and first["next"]
    assert first["results"][0]["trigger_event_id"] == "e54"  # newest first
    assert first["results"][0]["explanation"][0]["path"] == "conditions.all[1]"
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 5
    by_customer = api.get(f"/api/v1/decisions?campaign={campaign.pk}&customer=C1").json()
    assert by_customer["count"] == 18
    assert {d["customer_id"] for d in by_customer["results"]} == {"C1"}
    assert api.get("/api/v1/decisions?campaign=abc").status_code == 400


def test_test_event_explains_condition_by_condition(api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as("analyst")
    created = create(api_as("marketer"), spec)
    view = {"type": "product_view", "attributes": {"category": "savings"}}
    response = api.post(
        f"/api/v1/campaigns/{created['id']}/test-event",
        {
            "event": {**view, "customer_id": "C9", "ts": 1_800_000_000},
            "profile": {"age": 60},
            "history": [{**view, "ts": 1_799_999_000}, {**view, "ts": 1_799_999_500}],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"] == "conditions_failed"
    assert body["history_events"] == 2
    by_path = {item["path"]: item for item in body["items"]}
    assert by_path["conditions.all[0]"]["held"] is True  # three views within the day
    assert by_path["conditions.all[1]"]["held"] is False  # aged 60
    assert by_path["conditions.all[1]"]["block"] == "Condition 2"
    assert "60" in by_path["conditions.all[1]"]["text"]


def test_versions_diff_and_audit_log_over_the_api(api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as("marketer")
    created = create(api, spec)
    url = f"/api/v1/campaigns/{created['id']}"
    api.post(f"{url}/publish")
    spec["guards"]["cap"] = {"max": 2, "per": "7d"}
    api.put(url, {"spec": spec}, format="json")
    api.post(f"{url}/publish", {"comment": "looser cap"}, format="json")
    diff = api.get(f"{url}/versions/2/diff").json()
    assert diff == {
        "version": 2,
        "against": "v1",
        "changes": [
            "Frequency cap: \u201cAt most once in 30 days\u201d → "
            "\u201cAt most twice in 7 days\u201d."
        ],
    }
    assert api.get(f"{url}/versions/1/diff?against=draft").json()["changes"] == diff["changes"]
    audit = api.get(f"{url}/audit").json()
    assert [entry["action"] for entry in audit] == ["published", "edited", "published", "created"]
    assert audit[0]["comment"] == "looser cap" and audit[0]["version"] == 2
    assert api.get(f"{url}/versions/9/diff").status_code == 404


def test_templates_over_the_api_with_locked_fields(api_as: Any, spec: dict[str, Any]) -> None:
    marketer, admin = api_as("marketer"), api_as("admin")
    gallery = marketer.get("/api/v1/campaign-templates").json()
    assert {t["scenario"] for t in gallery} >= set(range(1, 9))
    source = create(marketer, spec)
    body = {"campaign": source["id"], "name": "Nudge", "slug": "nudge", "locked_paths": ["guards"]}
    assert marketer.post("/api/v1/campaign-templates", body, format="json").status_code == 403
    assert admin.post("/api/v1/campaign-templates", body, format="json").status_code == 201
    used = marketer.post("/api/v1/campaign-templates/nudge/use", {"name": "Mine"}, format="json")
    assert used.status_code == 201
    campaign = used.json()
    assert campaign["locked_paths"] == ["guards"] and campaign["spec"]["name"] == "Mine"
    changed = dict(campaign["spec"], guards={"holdout": 0.5})
    refused = marketer.put(f"/api/v1/campaigns/{campaign['id']}", {"spec": changed}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "locked"
