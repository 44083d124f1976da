"""The archive: events posted through the API end up in PostgreSQL, once, in event-time order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from django.db import connection

from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.engine.model import Event
from realtime.ingest import services
from realtime.ingest.archive import (
    GROUP,
    Archiver,
    archive_partitions_drop_older_than,
    archive_partitions_ensure,
    archive_rows_copy,
)
from realtime.ingest.selectors import archive_events_between, customer_recent_events

DAY_1 = datetime(2026, 11, 20, 23, 59, 59, tzinfo=UTC).timestamp()
DAY_2 = datetime(2026, 11, 21, 0, 0, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def source_key(db: None) -> str:
    demo_event_types_ensure()
    return services.source_create(name="app")[1]


def post(client: Any, key: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/events",
        data=orjson.dumps({"events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def view(event_id: str, customer_id: str, ts: float, category: str = "savings") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "product_view",
        "customer_id": customer_id,
        "timestamp": ts,
        "attributes": {"category": category, "note": "tab\there \\ back"},
    }


def drain(archiver: Archiver) -> None:
    while archiver.step():
        pass


def test_accepted_events_are_archived_in_event_time_order_across_day_partitions(
    client: Any, source_key: str
) -> None:
    # given events posted out of event-time order, spanning midnight UTC
    archiver = Archiver(block_ms=10)
    post(client, source_key, [view("b", "C2", DAY_2), view("a", "C1", DAY_1)])
    post(
        client,
        source_key,
        [
            {
                "type": "screen_view",
                "customer_id": "C1",
                "timestamp": DAY_2 + 1,
                "attributes": {"screen": "home"},
            }
        ],
    )
    # when the archiver runs
    drain(archiver)
    # then
    archived = list(archive_events_between(DAY_1 - 10, DAY_2 + 10))
    assert [event.event_id for event in archived[:2]] == ["a", "b"]
    assert archived[0] == Event(
        event_id="a",
        type="product_view",
        customer_id="C1",
        ts=DAY_1,
        attributes={"category": "savings", "note": "tab\there \\ back"},
    )
    assert [
        event.type
        for event in archive_events_between(DAY_1 - 10, DAY_2 + 10, types=["screen_view"])
    ] == ["screen_view"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, count(*) FROM realtime_event_archive GROUP BY 1 "
            "ORDER BY 1"
        )
        assert cursor.fetchall() == [
            ("realtime_event_archive_20261120", 1),
            ("realtime_event_archive_20261121", 2),
        ]
    # and everything is acknowledged
    client_redis = streams.redis_client()
    for partition in range(streams.settings.CDP_PARTITIONS):
        pending = client_redis.xpending(streams.event_stream_key(partition), GROUP)
        assert pending["pending"] == 0


def test_a_batch_copied_before_a_crash_is_not_archived_twice(client: Any, source_key: str) -> None:
    # given an archiver that read and copied a batch, then died before acknowledging it
    post(client, source_key, [view("x1", "C1", DAY_1), view("x2", "C1", DAY_1 + 1)])
    crashed = Archiver(consumer="archiver-a", block_ms=10)
    crashed.reading_pending = False
    replies = crashed.client.xreadgroup(
        GROUP, "archiver-a", dict.fromkeys(crashed.stream_keys, ">"), count=100
    )
    entries = [
        (crashed.partition_of_key[name], stream_id, fields[b"e"])
        for name, messages in replies
        for stream_id, fields in messages
    ]
    assert archive_rows_copy(entries[:1]) == 1  # committed; XACK never happened
    post(client, source_key, [view("x3", "C1", DAY_1 + 2)])
    # when it restarts under the same name, and reads its pending entries first
    drain(Archiver(consumer="archiver-a", block_ms=10))
    # then each event is stored once
    assert [event.event_id for event in archive_events_between(DAY_1 - 1, DAY_1 + 5)] == [
        "x1",
        "x2",
        "x3",
    ]


def test_entries_of_a_dead_archiver_are_claimed_and_stored_once(
    client: Any, source_key: str
) -> None:
    post(client, source_key, [view("y1", "C1", DAY_1)])
    dead = Archiver(consumer="archiver-dead", block_ms=10)
    dead.reading_pending = False
    replies = dead.client.xreadgroup(
        GROUP, "archiver-dead", dict.fromkeys(dead.stream_keys, ">"), count=100
    )
    [(name, [(stream_id, fields)])] = [(n, m) for n, m in replies if m]
    archive_rows_copy([(dead.partition_of_key[name], stream_id, fields[b"e"])])
    # when another archiver claims what the dead one left pending
    survivor = Archiver(consumer="archiver-b", block_ms=10)
    assert survivor.claim_abandoned(min_idle_ms=0) == 1
    drain(survivor)
    assert [event.event_id for event in archive_events_between(DAY_1 - 1, DAY_1 + 1)] == ["y1"]
    stream = streams.event_stream_key(streams.partition_of("C1"))
    assert survivor.client.xpending(stream, GROUP)["pending"] == 0


def test_keyset_pagination_returns_every_event_once(client: Any, source_key: str) -> None:
    events = [view(f"e{index:03}", f"C{index % 7}", DAY_1 - index % 5) for index in range(120)]
    post(client, source_key, events)
    drain(Archiver(block_ms=10))
    read = list(archive_events_between(DAY_1 - 100, DAY_1 + 1, chunk_size=7))
    assert sorted(event.event_id for event in read) == sorted(e["event_id"] for e in events)
    assert [(e.ts, e.event_id) for e in read] == sorted((e.ts, e.event_id) for e in read)


def test_trim_keeps_what_another_group_has_not_acknowledged(client: Any, source_key: str) -> None:
    # given an engine group that has read nothing yet, and an archiver that archived everything
    redis_client = streams.redis_client()
    stream = streams.event_stream_key(streams.partition_of("C1"))
    archiver = Archiver(block_ms=10)
    redis_client.xgroup_create(stream, "engine", id="0")
    post(client, source_key, [view("t1", "C1", DAY_1), view("t2", "C1", DAY_1)])
    drain(archiver)
    # when trimming with no age floor
    assert streams.stream_trim_safe(redis_client, stream, keep_seconds=0) == 0
    assert redis_client.xlen(stream) == 2
    # then only after the engine group read and acknowledged the first one, that one goes
    [(_, [(first_id, _)])] = redis_client.xreadgroup("engine", "w1", {stream: ">"}, count=1)
    redis_client.xack(stream, "engine", first_id)
    assert streams.stream_trim_safe(redis_client, stream, keep_seconds=0) == 1
    [(_, remaining)] = redis_client.xrange(stream)
    assert streams.decode_event(remaining[b"e"])["event_id"] == "t2"


def test_retention_drops_old_day_partitions(db: None) -> None:
    archive_partitions_ensure([date(2026, 1, 1), date(2026, 11, 20)])
    dropped = archive_partitions_drop_older_than(30, today=date(2026, 11, 22))
    assert dropped == ["realtime_event_archive_20260101"]


def test_customer_recent_events_merge_archive_and_stream(client: Any, source_key: str) -> None:
    post(client, source_key, [view("old", "C9", DAY_1)])
    drain(Archiver(block_ms=10))
    post(client, source_key, [view("new", "C9", DAY_2)])  # not archived yet
    assert [event.event_id for event in customer_recent_events("C9")] == ["new", "old"]


def test_pipelined_archiver_stores_everything_once(client: Any, source_key: str) -> None:
    events = [view(f"p{index:03}", f"C{index % 5}", DAY_1 - index) for index in range(300)]
    archiver = Archiver(block_ms=50, batch_size=7, pipelined=True)
    try:
        for start in range(0, 300, 100):
            post(client, source_key, events[start : start + 100])
        idle = 0
        while idle < 5:
            idle = 0 if archiver.step() else idle + 1
    finally:
        archiver.stop()
    stored = [event.event_id for event in archive_events_between(DAY_1 - 400, DAY_1 + 1)]
    assert sorted(stored) == sorted(event["event_id"] for event in events)
    assert archiver.archived == 300
