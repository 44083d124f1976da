"""The live event explorer in real Chromium, pushed over a real WebSocket by uvicorn."""

from __future__ import annotations

import urllib.request
from typing import Any

import orjson
import pytest

from realtime.demo import demo_event_types_ensure
from realtime.ingest import services


def send(server: str, key: str, events: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        server + "/api/v1/events",
        data=orjson.dumps({"events": events}),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.mark.django_db(transaction=True)
def test_explorer_shows_new_events_live_and_filters_by_type(
    asgi_server: str, page: Any, make_user: Any
) -> None:
    # given an analyst on the explorer page
    demo_event_types_ensure()
    key = services.source_create(name="app")[1]
    make_user("analyst", username="ana")
    page.goto(f"{asgi_server}/login/?next=/events/")
    page.fill("#id_username", "ana")
    page.fill("#id_password", "correct horse 9")
    page.click("button[type=submit]")
    page.wait_for_url(f"{asgi_server}/events/")
    page.wait_for_function(
        "document.querySelector('[data-testid=explorer-status]').textContent.trim() === 'live'"
    )
    # when an event arrives
    send(asgi_server, key, [{"event_id": "live-1", "type": "branch_visit", "customer_id": "C7"}])
    # then it shows up without a reload
    row = page.wait_for_selector("tr[data-event-id='live-1']", timeout=10_000)
    assert "branch_visit" in row.text_content()
    assert "C7" in row.text_content()
    # and with a type filter only that type appears
    page.select_option("select[name=type]", "screen_view")
    page.wait_for_timeout(500)  # the filter reaches the server
    send(
        asgi_server,
        key,
        [
            {"event_id": "live-2", "type": "branch_visit", "customer_id": "C7"},
            {
                "event_id": "live-3",
                "type": "screen_view",
                "customer_id": "C7",
                "attributes": {"screen": "home"},
            },
        ],
    )
    page.wait_for_selector("tr[data-event-id='live-3']", timeout=10_000)
    assert page.query_selector("tr[data-event-id='live-2']") is None
