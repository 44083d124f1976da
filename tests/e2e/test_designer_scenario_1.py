"""A marketer builds scenario 1 in the designer by clicking and typing, in real Chromium.

Then it is published, events arrive through the public ingest API, a real ``run_engine`` worker
decides, and the offer decision shows on the campaign's page. Windows are seconds, not minutes.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAVINGS = ["savings", "installment_savings", "deposit", "housing_subscription"]
PARTITIONS = 2

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> Any:
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.1)


def saved(page: Any, action: Callable[[], object]) -> None:
    """Do something in the designer and wait until the server saved it (revision moves on)."""
    revision = page.input_value("#designer-revision")
    action()
    try:
        # The revision moves when the answer arrives; the blocks it replaces are swapped in a
        # moment later. Acting before htmx has settled would act on an element being replaced.
        page.wait_for_function(
            f"document.getElementById('designer-revision').value !== '{revision}'"
            " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')",
            timeout=15_000,
        )
    except Exception:
        page.screenshot(path="/tmp/e2e-designer-failure.png", full_page=True)
        raise


def add(page: Any, list_path: str, kind: str) -> None:
    def click() -> None:
        page.click(f"[data-add='{list_path}']")
        page.click(f"[data-add='{list_path}'] + .dropdown-menu [data-add-kind='{kind}']")

    saved(page, click)


def select(page: Any, path: str, value: str | list[str]) -> None:
    saved(page, lambda: page.select_option(f"[data-path='{path}']", value))


def type_into(page: Any, path: str, text: str) -> None:
    saved(page, lambda: page.fill(f"[data-path='{path}']", text))


def test_marketer_builds_scenario_1_publishes_it_and_sees_the_offer_decision(
    live_server: Any, page: Any, make_user: Any, api_as: Any, engine_worker: Any
) -> None:
    from campaigns.gallery import gallery_offers_ensure
    from campaigns.models import Campaign, Decision
    from realtime.demo import demo_event_types_ensure
    from realtime.engine.guards import is_held_out
    from realtime.ingest import services as ingest

    demo_event_types_ensure()
    gallery_offers_ensure()
    make_user("marketer", username="mira")
    engine_worker()

    # the marketer signs in and starts an empty campaign
    page.goto(f"{live_server.url}/campaigns/")
    page.fill("#id_username", "mira")
    page.fill("#id_password", "correct horse 9")
    page.click("button[type=submit]")
    page.fill("[data-testid=new-name]", "Savings nudge")
    page.click("[data-testid=new-campaign]")
    page.wait_for_selector("[data-testid=page-title]:has-text('Savings nudge')")

    # Trigger: a savings product view
    select(page, "trigger.event", "product_view")
    add(page, "trigger.where", "filter")
    select(page, "trigger.where.op", "in")
    select(page, "trigger.where.value", SAVINGS)
    # Condition 1: at least 3 such views within a day
    add(page, "conditions.all", "count")
    add(page, "conditions.all[0].count.where", "filter")
    select(page, "conditions.all[0].count.where.op", "in")
    select(page, "conditions.all[0].count.where.value", SAVINGS)
    type_into(page, "conditions.all[0].value", "3")
    # Condition 2: aged 19 to 55
    add(page, "conditions.all", "profile")
    select(page, "conditions.all[1].op", "between")
    type_into(page, "conditions.all[1].value[0]", "19")
    type_into(page, "conditions.all[1].value[1]", "55")
    # Unless a sign-up within 7 minutes
    saved(page, lambda: page.click("[data-toggle=unless]"))
    select(page, "unless.event", "product_subscribed")
    type_into(page, "unless.within", "7 minutes")
    # Offer: the sign-up coupon by push, else SMS; once in 30 days; 10% held out
    add(page, "actions", "offer")
    select(page, "actions[0].offer", "savings-signup-coupon")
    select(page, "actions[0].fallback", "sms")
    saved(page, lambda: page.click("[data-toggle=cap]"))
    type_into(page, "guards.holdout", "10")

    summary = page.text_content("[data-testid=summary]")
    assert summary == (
        "When a customer has a product view event where category is savings, installment "
        "savings, deposit or housing subscription, at least 3 times in a day, age is 19\u201355, "
        "and does not have a product subscribed event within 7 minutes: send \u201cSavings "
        "sign-up coupon\u201d by push, else SMS. At most once in 30 days. 10% held out."
    )
    assert page.text_content("[data-testid=problem-count]") == "ready to publish"

    # a bad value shows its error on that block, and publishing is blocked until it is fixed
    type_into(page, "conditions.all[1].value[1]", "fifty")
    error = page.locator("[data-testid='errors-conditions.all[1]']")
    assert "between" in error.text_content()
    assert page.locator("[data-testid='errors-trigger']").text_content().strip() == ""
    assert page.is_disabled("[data-testid=publish]")
    assert "\u26a0" in page.text_content("[data-testid=flow-diagram]")
    type_into(page, "conditions.all[1].value[1]", "55")
    assert error.text_content().strip() == ""
    # short windows for the test: the sign-up window becomes 2 seconds
    type_into(page, "unless.within", "2s")
    assert "within 2 seconds" in page.text_content("[data-testid=summary]")

    # publish
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=live-version]:has-text('v1')")
    assert page.text_content("[data-testid=campaign-status]") == "Published"
    campaign = Campaign.objects.get(name="Savings nudge")
    assert campaign.live_version.spec["unless"] == {"event": "product_subscribed", "within": "2s"}

    # events through the public ingest API; the worker decides
    _, key = ingest.source_create(name="app")
    customer = next(f"c-{n}" for n in range(1000) if not is_held_out(0.1, campaign.pk, f"c-{n}"))
    profile = api_as("admin").put(
        f"/api/v1/customers/{customer}", {"traits": {"age": 30}}, format="json"
    )
    assert profile.status_code in (200, 201), profile.content
    now = time.time()
    events = [
        {
            "event_id": f"v{i}",
            "type": "product_view",
            "customer_id": customer,
            "timestamp": now + i * 0.1,
            "attributes": {"category": "savings"},
        }
        for i in range(3)
    ]
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/events",
        data=orjson.dumps({"events": events}),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert not orjson.loads(response.read())["rejected"]
    decision = wait_until(
        lambda: Decision.objects.filter(campaign=campaign, customer_id=customer).first(), 30
    )
    assert decision.outcome == "offer" and decision.trigger_event_id == "v2"

    # the decision shows on the campaign's page, with why
    page.reload()
    page.click("[data-testid=tab-decisions]")
    shown = page.locator("[data-testid=decisions] [data-outcome=offer]")
    assert customer in shown.first.text_content()
