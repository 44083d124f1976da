"""POST /api/v1/events through the real HTTP stack, against real PostgreSQL and Redis."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.ingest import services
from realtime.models import Source

URL = "/api/v1/events"


@pytest.fixture
def event_types(db: None) -> None:
    demo_event_types_ensure()


@pytest.fixture
def source_key(event_types: None) -> str:
    _, key = services.source_create(name="card switch")
    return key


def post(client: Any, key: str | None, body: object, **extra: Any) -> Any:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(URL, data=data, content_type="application/json", **headers, **extra)


def card(customer_id: str, amount: object = 4500, **fields: Any) -> dict[str, Any]:
    return {
        "type": "card_transaction",
        "customer_id": customer_id,
        "attributes": {"amount": amount, "merchant_id": "M-1", "region": "Gangnam-gu"},
        **fields,
    }


def stream_events(customer_id: str | None = None) -> list[dict[str, Any]]:
    client = streams.redis_client()
    found = []
    partitions = (
        [streams.partition_of(customer_id)]
        if customer_id
        else range(streams.settings.CDP_PARTITIONS)
    )
    for partition in partitions:
        for _, fields in client.xrange(streams.event_stream_key(partition)):
            event = streams.decode_event(fields[b"e"])
            if customer_id is None or event["customer_id"] == customer_id:
                found.append(event)
    return found


def test_valid_batch_is_accepted_and_appended_to_the_customers_partition(
    client: Any, source_key: str
) -> None:
    # given
    batch = [card("C1", event_id="e-1", timestamp=1_700_000_000), card("C2", event_id="e-2")]
    # when
    response = post(client, source_key, {"events": batch})
    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [],
        "event_ids": ["e-1", "e-2"],
    }
    assert stream_events("C1") == [
        {
            "event_id": "e-1",
            "type": "card_transaction",
            "customer_id": "C1",
            "ts": 1_700_000_000.0,
            "attributes": {"amount": 4500, "merchant_id": "M-1", "region": "Gangnam-gu"},
        }
    ]
    [second] = stream_events("C2")
    assert second["event_id"] == "e-2"
    assert abs(second["ts"] - time.time()) < 5  # receive time when no timestamp is given


def test_event_id_is_generated_when_absent(client: Any, source_key: str) -> None:
    response = post(client, source_key, [card("C1")])
    [event_id] = response.json()["event_ids"]
    assert len(event_id) == 32
    assert [event["event_id"] for event in stream_events("C1")] == [event_id]


def test_invalid_events_are_named_by_index_and_field_and_valid_ones_accepted(
    client: Any, source_key: str
) -> None:
    batch = [
        card("C1", event_id="ok-0"),
        card("C1", amount="lots"),
        {"type": "product_view", "customer_id": "C1", "attributes": {"category": "cars"}},
        {"type": "card_transaction", "attributes": {"amount": 1, "merchant_id": "M"}},
        {"type": "no_such_type", "customer_id": "C1"},
        card("C1", event_id="ok-5"),
    ]
    response = post(client, source_key, {"events": batch})
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "attributes.amount"),
        (2, "attributes.category"),
        (3, "customer_id"),
        (4, "type"),
    ]
    assert body["rejected"][0]["error"] == "must be a number, not text"
    assert "savings" in body["rejected"][1]["error"]
    assert "no_such_type" in body["rejected"][3]["error"]
    assert body["event_ids"][1:5] == [None, None, None, None]
    assert [event["event_id"] for event in stream_events("C1")] == ["ok-0", "ok-5"]


def test_duplicate_event_id_is_accepted_once(client: Any, source_key: str) -> None:
    batch = [card("C1", event_id="dup-1"), card("C1", event_id="dup-1")]
    first = post(client, source_key, batch).json()
    again = post(client, source_key, batch).json()
    assert (first["accepted"], first["duplicates"]) == (1, 1)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert [event["event_id"] for event in stream_events("C1")] == ["dup-1"]
    ttl = streams.redis_client().ttl(streams.key("dedupe", "dup-1"))
    assert ttl > 24 * 3600


def test_per_customer_order_is_kept_across_batches(client: Any, source_key: str) -> None:
    sent = []
    for batch_number in range(5):
        batch = []
        for position in range(20):
            customer = f"C{position % 3}"
            event_id = f"b{batch_number}-{position}"
            batch.append(card(customer, event_id=event_id))
            sent.append((customer, event_id))
        assert post(client, source_key, batch).json()["accepted"] == 20
    for customer in ("C0", "C1", "C2"):
        expected = [event_id for who, event_id in sent if who == customer]
        assert [event["event_id"] for event in stream_events(customer)] == expected


def test_revoked_key_is_refused(client: Any, source_key: str) -> None:
    assert post(client, source_key, [card("C1")]).status_code == 200
    services.source_revoke(source=Source.objects.get())
    response = post(client, source_key, [card("C1", event_id="late")])
    assert response.status_code == 401
    assert response.json() == {"error": "The API key is unknown or revoked."}
    assert "late" not in [event["event_id"] for event in stream_events("C1")]


def test_missing_and_unknown_keys_are_refused(client: Any, source_key: str) -> None:
    assert post(client, None, [card("C1")]).status_code == 401
    assert post(client, "cdpk_nope", [card("C1")]).status_code == 401
    assert stream_events() == []


def test_rate_limit_answers_429(client: Any, event_types: None) -> None:
    _, key = services.source_create(name="slow", rate_limit_per_second=2)
    statuses = [post(client, key, [card("C1")]).status_code for _ in range(4)]
    assert 429 in statuses
    assert statuses[0] == 200


NESTED: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}


@pytest.mark.parametrize(
    ("body", "status", "field", "error_part"),
    [
        (b'{"events": [', 400, None, "not valid JSON"),
        (b'{"events": [{"type": "\xff\xfe"}]}', 400, None, "not valid UTF-8"),
        (b"42", 400, None, "must be"),
        (b'{"events": []}', 400, "events", "no events"),
        (b'{"events": {}}', 400, "events", "must be a list"),
        (b'{"evnets": []}', 400, "evnets", "unknown field"),
        (orjson.dumps([{"type": 5, "customer_id": "C1"}]), 400, "type", "must be text"),
        (orjson.dumps([{"customer_id": "C1"}]), 400, "type", "is required"),
        (orjson.dumps([card("C1", amount=None)]), 400, "attributes.amount", "is required"),
        (orjson.dumps([card("C1", amount=True)]), 400, "attributes.amount", "must be a number"),
        (orjson.dumps([card(7)]), 400, "customer_id", "must be non-empty text"),
        (orjson.dumps([{**card("C1"), "colour": 1}]), 400, "colour", "unknown field"),
        (orjson.dumps(["nope"]), 400, "", "must be an object"),
        (
            orjson.dumps([card("C1", timestamp=time.time() + 3600)]),
            400,
            "timestamp",
            "in the future",
        ),
        (orjson.dumps([card("C1", timestamp="yesterday")]), 400, "timestamp", "ISO 8601"),
        (orjson.dumps([card("C1", timestamp="2026-01-01T10:00")]), 400, "timestamp", "offset"),
        (orjson.dumps([card("C1", timestamp=1.7e12)]), 400, "timestamp", "milliseconds"),
        (
            orjson.dumps([{**card("C1"), "attributes": {**card("C1")["attributes"], **NESTED}}]),
            400,
            "attributes.a",
            "deeper than 4",
        ),
        (orjson.dumps([{**card("C1"), "attributes": [1]}]), 400, "attributes", "an object"),
        (b"[" + b"[" * 2000 + b"]" * 2000 + b"]", 400, None, "not valid JSON"),
        (orjson.dumps([card("C1")] * 1001), 413, None, "at most 1000 events"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_nothing_is_appended(
    client: Any, source_key: str, body: bytes, status: int, field: str | None, error_part: str
) -> None:
    # given an event accepted before
    assert post(client, source_key, [card("C0", event_id="kept")]).status_code == 200
    # when
    response = post(client, source_key, body)
    # then
    assert response.status_code == status, response.content
    answer = response.json()
    rejected = answer.get("rejected") or []
    if field is not None and rejected:
        assert rejected[0]["field"] == field
        assert error_part in rejected[0]["error"]
    else:
        assert answer.get("field") == field
        assert error_part.lower() in answer["error"].lower()
    assert [event["event_id"] for event in stream_events()] == ["kept"]
    # and the server still serves
    assert post(client, source_key, [card("C0", event_id="after")]).json()["accepted"] == 1


def test_ten_megabyte_body_is_refused_with_413(client: Any, source_key: str) -> None:
    body = b'{"events": [' + b" " * (10 * 1024 * 1024) + b"]}"
    response = post(client, source_key, body)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert stream_events() == []


def test_registry_change_applies_to_new_events(client: Any, source_key: str, api_as: Any) -> None:
    # given a new event type defined over the API
    marketer = api_as("marketer")
    created = marketer.post(
        "/api/v1/event-types",
        {
            "name": "loan_application",
            "attributes": [{"name": "amount", "type": "number", "required": True}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    event = {"type": "loan_application", "customer_id": "C1", "attributes": {"amount": 10}}
    assert post(client, source_key, [event]).json()["accepted"] == 1
    # when the attribute becomes a string
    changed = marketer.put(
        "/api/v1/event-types/loan_application",
        {"attributes": [{"name": "amount", "type": "string"}]},
        format="json",
    )
    assert changed.status_code == 200
    # then new numbers are refused, and the stored event is untouched
    answer = post(client, source_key, [event]).json()
    assert answer["rejected"][0]["field"] == "attributes.amount"
    [stored] = stream_events("C1")
    assert stored["attributes"] == {"amount": 10}


def test_openapi_schema_documents_the_ingest_endpoint(client: Any, db: None) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = orjson.loads(response.content)
    operation = schema["paths"]["/api/v1/events"]["post"]
    assert "Partial accept" in operation["description"]
    assert set(operation["responses"]) >= {"200", "400", "401", "413", "429"}
