"""Events carrying a NUL character are refused at ingest, naming the field: PostgreSQL stores
NUL neither in the archive (COPY) nor in a decision, so one such event accepted would stop the
archiver and its partition's engine on every retry (found hardening the API, RELIABILITY 6)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.ingest import services

URL = "/api/v1/events"


@pytest.fixture
def source_key(db: None) -> str:
    demo_event_types_ensure()
    return services.source_create(name="card switch")[1]


def _card(customer_id: str, **attributes: object) -> dict[str, Any]:
    values = {"amount": 4500, "merchant_id": "M-1", "region": "Gangnam-gu", **attributes}
    return {"type": "card_transaction", "customer_id": customer_id, "attributes": values}


def _appended() -> list[dict[str, Any]]:
    client = streams.redis_client()
    return [
        streams.decode_event(fields[b"e"])
        for partition in range(streams.settings.CDP_PARTITIONS)
        for _, fields in client.xrange(streams.event_stream_key(partition))
    ]


def test_nul_characters_are_refused_per_event_naming_the_field(
    client: Any, source_key: str
) -> None:
    # given a batch with NUL characters in an id, a value, a key and a list, and one clean event
    batch = [
        _card("c-\x001"),
        {**_card("c-2"), "event_id": "e\x00"},
        _card("c-3", region="Gangnam\x00-gu"),
        _card("c-4", note={"tags": ["ok", "b\x00d"]}),
        _card("c-5", **{"k\x00": 1}),
        _card("c-6"),
    ]
    # when it is posted
    response = client.post(
        URL,
        data=orjson.dumps({"events": batch}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {source_key}",
    )
    # then the clean event is accepted and each other one refused where its NUL was
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (0, "customer_id"),
        (1, "event_id"),
        (2, "attributes.region"),
        (3, "attributes.note.tags[1]"),
        (4, "attributes"),
    ]
    assert {r["error"] for r in body["rejected"]} == {"must not contain NUL characters (\\u0000)"}
    assert [event["customer_id"] for event in _appended()] == ["c-6"]


def test_a_backslash_u_text_without_nul_is_accepted(client: Any, source_key: str) -> None:
    response = client.post(
        URL,
        data=orjson.dumps([_card("c-7", note="a literal \\u0000 is six characters")]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {source_key}",
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
