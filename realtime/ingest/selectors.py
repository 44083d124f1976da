"""Reads of event collection: the registry for the designer and ingest, sources, the archive."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import orjson
from django.db import connection
from django.db.models import QuerySet

from realtime import streams
from realtime.engine.model import Event
from realtime.models import EventType, Source

ARCHIVE_TABLE = "realtime_event_archive"


def event_type_list() -> QuerySet[EventType]:
    return EventType.objects.order_by("name")


def event_type_definitions() -> dict[str, list[dict[str, object]]]:
    """``{type name: declared attribute list}``: what the validators are compiled from."""
    return dict(EventType.objects.values_list("name", "attributes"))


def event_type_registry() -> dict[str, dict[str, str]]:
    """``{type name: {attribute name: attribute type}}`` for the designer's field pickers and
    the campaign compiler. Enum values are in ``event_type_definitions``."""
    return {
        name: {str(spec["name"]): str(spec["type"]) for spec in attributes}
        for name, attributes in event_type_definitions().items()
    }


def source_list() -> QuerySet[Source]:
    return Source.objects.order_by("revoked_at", "name", "id")


def _epoch(moment: datetime | float) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime.fromtimestamp(float(moment), UTC)


def _event(row: tuple) -> Event:
    event_id, type_name, customer_id, ts, attributes = row
    return Event(
        event_id=event_id,
        type=type_name,
        customer_id=customer_id,
        ts=ts.timestamp(),
        attributes=attributes if isinstance(attributes, dict) else orjson.loads(attributes),
    )


def archive_events_between(
    start: datetime | float,
    end: datetime | float,
    types: Iterable[str] | None = None,
    *,
    chunk_size: int = 5000,
) -> Iterator[Event]:
    """Archived events with ``start <= ts < end``, in event-time order (ties by event id).

    Reads in chunks by keyset pagination, so memory stays flat over millions of rows and no
    transaction is held open between chunks. ``types`` limits to those event types.
    """
    lower, upper = _epoch(start), _epoch(end)
    type_list = sorted(set(types)) if types is not None else None
    if type_list == []:
        return
    type_filter = " AND type = ANY(%s)" if type_list is not None else ""
    last: tuple[datetime, str] | None = None
    while True:
        parameters: list[object] = [upper]
        if last is None:
            where = "ts >= %s AND ts < %s"
            parameters.insert(0, lower)
        else:
            where = "(ts, event_id) > (%s, %s) AND ts < %s"
            parameters[:0] = [last[0], last[1]]
        if type_list is not None:
            parameters.append(type_list)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT event_id, type, customer_id, ts, attributes FROM {ARCHIVE_TABLE} "
                f"WHERE {where}{type_filter} ORDER BY ts, event_id LIMIT {int(chunk_size)}",
                parameters,
            )
            rows = cursor.fetchall()
        for row in rows:
            yield _event(row)
        if len(rows) < chunk_size:
            return
        last = (rows[-1][3], rows[-1][0])


def archive_event_count_between(start: datetime | float, end: datetime | float) -> int:
    """For progress bars of replays over ``archive_events_between``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {ARCHIVE_TABLE} WHERE ts >= %s AND ts < %s",
            [_epoch(start), _epoch(end)],
        )
        return int(cursor.fetchone()[0])


def customer_recent_events(customer_id: str, *, limit: int = 50) -> list[Event]:
    """The customer's latest events, newest first: the archive plus what the stream holds that
    the archiver has not copied yet."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT event_id, type, customer_id, ts, attributes FROM {ARCHIVE_TABLE} "
            "WHERE customer_id = %s ORDER BY ts DESC LIMIT %s",
            [customer_id, limit],
        )
        found = {row[0]: _event(row) for row in cursor.fetchall()}
    stream = streams.event_stream_key(streams.partition_of(customer_id))
    for _, fields in streams.redis_client().xrevrange(stream, count=2000):
        payload = fields.get(b"e")
        if not payload:
            continue
        event = streams.decode_event(payload)
        if event["customer_id"] == customer_id and event["event_id"] not in found:
            found[str(event["event_id"])] = Event.from_dict(event)
    return sorted(found.values(), key=lambda event: (event.ts, event.event_id), reverse=True)[
        :limit
    ]
