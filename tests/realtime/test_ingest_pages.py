"""Pages of event collection: sources and keys, event types, explorer, tracker install."""

from __future__ import annotations

import re
from typing import Any

import orjson

from realtime.demo import demo_event_types_ensure
from realtime.models import EventType, Source


def ingest(client: Any, key: str) -> int:
    response = client.post(
        "/api/v1/events",
        data=orjson.dumps([{"type": "branch_visit", "customer_id": "C1"}]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    return response.status_code


def test_admin_creates_a_source_sees_the_key_once_and_revokes_it(client_as: Any) -> None:
    demo_event_types_ensure()
    admin = client_as("admin")
    page = admin.post("/events/sources/", {"name": "card switch", "rate_limit_per_second": "50"})
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    key = re.search(rb"cdpk_[A-Za-z0-9_-]{43}", page.content)[0].decode()  # type: ignore[index]
    source = Source.objects.get(name="card switch")
    assert source.rate_limit_per_second == 50
    assert key not in source.key_hash
    assert key.encode() not in admin.get("/events/sources/").content  # shown once
    assert ingest(admin, key) == 200
    admin.post(f"/events/sources/{source.pk}/revoke")
    assert ingest(admin, key) == 401


def test_only_admins_manage_sources(client_as: Any) -> None:
    assert client_as("marketer").get("/events/sources/").status_code == 403


def test_marketer_defines_an_event_type_in_the_browser(client_as: Any) -> None:
    marketer = client_as("marketer")
    bad = marketer.post("/events/types/", {"name": "loan", "attributes": "[{"})
    assert b"not valid JSON" in bad.content
    wrong = marketer.post(
        "/events/types/", {"name": "loan", "attributes": '[{"name": "x", "type": "money"}]'}
    )
    assert b"attributes[0].type" in wrong.content
    saved = marketer.post(
        "/events/types/",
        {
            "name": "loan",
            "description": "A loan",
            "attributes": '[{"name": "amount", "type": "number"}]',
        },
    )
    assert saved.status_code == 302
    assert EventType.objects.get(name="loan").attributes == [
        {"name": "amount", "type": "number", "required": False}
    ]
    assert b"amount: number" in marketer.get("/events/types/").content


def test_analyst_reads_event_types_but_cannot_change_them(client_as: Any) -> None:
    analyst = client_as("analyst")
    assert analyst.get("/events/types/").status_code == 200
    assert analyst.post("/events/types/", {"name": "x", "attributes": "[]"}).status_code == 403
    assert not EventType.objects.exists()


def test_explorer_and_tracker_pages(client_as: Any) -> None:
    analyst = client_as("analyst")
    assert b"/ws/explorer" in analyst.get("/events/").content
    install = analyst.get("/events/tracker/")
    assert b"cdp.init" in install.content
    assert b"http://testserver/api/v1/events" in install.content
    script = analyst.get("/static/cdp-tracker.js")
    assert script.status_code == 200


def test_merchants_see_no_event_pages(client_as: Any) -> None:
    merchant = client_as("merchant")
    assert merchant.get("/events/").status_code == 403
