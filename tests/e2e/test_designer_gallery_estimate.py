"""From the gallery to an audience estimate, in real Chromium: use a template, edit a value,
reorder blocks by dragging, then estimate the audience and watch the progress bar finish."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from typing import Any

import orjson
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def saved(page: Any, action: Callable[[], object]) -> None:
    revision = page.input_value("#designer-revision")
    action()
    # Wait until htmx has also swapped in the blocks of the answer, not only the revision.
    page.wait_for_function(
        f"document.getElementById('designer-revision').value !== '{revision}'"
        " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
        timeout=15_000,
    )


def post_events(base_url: str, key: str, events: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/v1/events",
        data=orjson.dumps({"events": events}),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_gallery_edit_drag_and_estimate_with_a_progress_bar(
    live_server: Any, page: Any, make_user: Any, api_as: Any
) -> None:
    from campaigns.estimates import audience_estimate_run
    from campaigns.gallery import gallery_offers_ensure
    from campaigns.models import AudienceEstimate, Campaign
    from realtime.demo import demo_event_types_ensure
    from realtime.ingest import services as ingest
    from realtime.ingest.archive import Archiver

    demo_event_types_ensure()
    gallery_offers_ensure()
    make_user("marketer", username="mira")
    admin = api_as("admin")
    for customer, age in (("A1", 30), ("A2", 58), ("A3", 70)):
        admin.put(f"/api/v1/customers/{customer}", {"traits": {"age": age}}, format="json")
    _, key = ingest.source_create(name="app")
    start = time.time() - 86400
    post_events(
        live_server.url,
        key,
        [
            {
                "type": "product_view",
                "customer_id": customer,
                "timestamp": start + 60 * n,
                "attributes": {"category": "savings"},
            }
            for customer in ("A1", "A2", "A3")
            for n in range(3)
        ],
    )
    archiver = Archiver(block_ms=10)
    while archiver.step():
        pass

    page.goto(f"{live_server.url}/campaigns/gallery/")
    page.fill("#id_username", "mira")
    page.fill("#id_password", "correct horse 9")
    page.click("button[type=submit]")
    page.click("[data-testid=use-viewed-but-did-not-sign-up]")
    page.wait_for_selector("[data-testid=page-title]:has-text('Viewed but did not sign up')")

    # edit a value: the summary follows
    saved(page, lambda: page.fill("[data-path='conditions.all[1].value[1]']", "60"))
    assert "age is 19\u201360" in page.text_content("[data-testid=summary]")

    # drag condition 2 (age) above condition 1 (views) by its handle
    handle = page.locator("[data-control-path='conditions.all[1]'] .drag-handle").first
    target = page.locator("[data-control-path='conditions.all[0]']")

    def drag() -> None:
        handle.scroll_into_view_if_needed()
        source_box, target_box = handle.bounding_box(), target.bounding_box()
        page.mouse.move(source_box["x"] + 5, source_box["y"] + 10)
        page.mouse.down()
        page.mouse.move(target_box["x"] + 60, target_box["y"] + 15, steps=8)
        page.mouse.up()

    page.set_viewport_size({"width": 1400, "height": 2200})
    saved(page, drag)
    summary = page.text_content("[data-testid=summary]")
    assert summary.index("age is 19\u201360") < summary.index("at least 3 times in a day")
    campaign = Campaign.objects.get(name="Viewed but did not sign up")
    assert campaign.draft_spec["conditions"]["all"][0]["profile"] == "age"

    # estimate the audience; a Celery worker would run the task, here the test does
    page.click("[data-testid=tab-estimate]")
    page.fill("#tab-estimate input[name=days]", "3")
    page.click("[data-testid=run-estimate]")
    page.wait_for_selector("[data-testid=estimate-progress]", state="attached")  # 0% wide
    estimate = AudienceEstimate.objects.get(campaign=campaign)
    audience_estimate_run(estimate_id=estimate.pk)
    page.wait_for_selector("[data-testid=estimate-steps]", timeout=10_000)
    assert page.text_content("[data-testid=estimate-progress]").strip() == "100%"
    assert page.text_content("[data-step=triggered]") == "3"
    assert page.text_content("[data-step=condition_1]") == "2"  # aged 70 is out
    assert page.text_content("[data-step=condition_2]") == "2"
