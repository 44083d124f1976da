"""The JavaScript tracker in real Chromium, posting to a real uvicorn."""

from __future__ import annotations

import time
from typing import Any

import pytest

from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.ingest import services


def customer_events(customer_id: str) -> list[dict[str, Any]]:
    stream = streams.event_stream_key(streams.partition_of(customer_id))
    found = []
    for _, fields in streams.redis_client().xrange(stream):
        event = streams.decode_event(fields[b"e"])
        if event["customer_id"] == customer_id:
            found.append(event)
    return found


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_tracker_sends_page_views_marked_clicks_and_custom_events(
    asgi_server: str, page: Any
) -> None:
    demo_event_types_ensure()
    key = services.source_create(name="web")[1]
    page.goto(f"{asgi_server}/healthz")
    page.set_content(
        f"""<html><head><title>Savings</title></head><body>
        <button data-cdp-click="apply-savings"><span>Apply</span></button>
        <script src="{asgi_server}/static/cdp-tracker.js"></script>
        <script>cdp.init({{endpoint: "{asgi_server}/api/v1/events", key: "{key}",
                          customerId: "W1"}});</script>
        </body></html>"""
    )
    page.click("button span")  # a click inside the marked element counts
    page.evaluate("cdp.track('product_view', {category: 'savings'}); cdp.flush()")
    wait_for(lambda: len(customer_events("W1")) == 3)
    events = customer_events("W1")
    assert [event["type"] for event in events] == ["page_view", "click", "product_view"]
    assert events[0]["attributes"]["title"] == "Savings"
    assert events[1]["attributes"]["element"] == "apply-savings"
    assert events[2]["attributes"] == {"category": "savings"}
    assert len({event["event_id"] for event in events}) == 3
