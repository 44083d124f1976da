"""The archive: a consumer group copying every stream entry into PostgreSQL, in batches.

``manage.py run_archiver`` loops over ``archive_step``: XREADGROUP (group ``archive``) over all
partition streams, one COPY of the whole batch into ``realtime_event_archive`` (partitioned by
day; partitions are created as days appear), commit, then XACK. Consumption is at-least-once: a
crash between commit and XACK leaves the batch pending; read again from the pending list (or
claimed from a dead archiver) it goes through a staging table and only rows not stored yet are
inserted, so no row is stored twice.

The archiver also trims the streams (only below what every consumer group acknowledged, see
``streams.stream_trim_safe``) and drops day partitions older than the retention setting.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import orjson
import psycopg
import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from realtime import streams

logger = logging.getLogger(__name__)

GROUP = "archive"
TABLE = "realtime_event_archive"
COLUMNS = "event_id, type, customer_id, ts, attributes, received_at, stream_partition, stream_id"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def archive_consumer_name() -> str:
    return f"{socket.gethostname()}-archiver"


def archive_groups_ensure(client: redis.Redis | None = None) -> None:
    """Creates the ``archive`` group on every partition stream, reading from the very start."""
    client = client or streams.redis_client()
    for partition in range(settings.CDP_PARTITIONS):
        try:
            client.xgroup_create(streams.event_stream_key(partition), GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise


def partition_table_name(day: date) -> str:
    return f"{TABLE}_{day:%Y%m%d}"


_known_partitions: set[tuple[str, date]] = set()


def archive_partitions_ensure(days: Iterable[date]) -> None:
    """Creates the day partitions that do not exist yet (cached per process)."""
    database = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        for day in sorted(set(days)):
            if (database, day) in _known_partitions:
                continue
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {partition_table_name(day)} PARTITION OF {TABLE} "
                "FOR VALUES FROM (%s) TO (%s)",
                [start, start + timedelta(days=1)],
            )
            _known_partitions.add((database, day))


def archive_partitions_drop_older_than(days: int, *, today: date | None = None) -> list[str]:
    """Retention: drops whole day partitions older than ``days`` (cheap, unlike DELETE)."""
    cutoff = (today or datetime.now(UTC).date()) - timedelta(days=days)
    dropped = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid WHERE parent.relname = %s",
            [TABLE],
        )
        for (name,) in cursor.fetchall():
            suffix = name.removeprefix(f"{TABLE}_")
            try:
                day = datetime.strptime(suffix, "%Y%m%d").date()
            except ValueError:
                continue
            if day < cutoff:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
                _known_partitions.discard((connection.settings_dict["NAME"], day))
                dropped.append(name)
    return dropped


def _sqlstate(error: BaseException) -> str | None:
    while error is not None:
        code = getattr(error, "sqlstate", None)
        if code:
            return str(code)
        error = error.__cause__  # type: ignore[assignment]  # Django wraps psycopg's errors
    return None


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def _rows(entries: list[tuple[int, bytes, bytes]]) -> tuple[bytes, set[date]]:
    """Stream entries → COPY text rows, and the days they fall on."""
    lines: list[str] = []
    days: set[date] = set()
    for partition, stream_id, payload in entries:
        event = orjson.loads(payload)
        moment = datetime.fromtimestamp(event["ts"], UTC)
        days.add(moment.date())
        identifier = stream_id.decode()
        received = datetime.fromtimestamp(int(identifier.split("-", 1)[0]) / 1000, UTC)
        # JSON escapes control characters itself; only its backslashes need doubling for COPY.
        attributes = orjson.dumps(event.get("attributes") or {}).decode().replace("\\", "\\\\")
        lines.append(
            "\t".join(
                (
                    _copy_text(str(event["event_id"])),
                    _copy_text(str(event["type"])),
                    _copy_text(str(event["customer_id"])),
                    moment.isoformat(),
                    attributes,
                    received.isoformat(),
                    str(partition),
                    identifier,
                )
            )
        )
    return ("\n".join(lines) + "\n").encode(), days


def archive_rows_copy(entries: list[tuple[int, bytes, bytes]], *, redelivered: bool = False) -> int:
    """Stores entries ``(partition, stream id, payload)``; returns how many rows are new.

    ``redelivered``: the entries come from the pending list (read before a crash, or claimed
    from a dead archiver), so some may be stored already; those are skipped, matched on
    (ts, event_id, stream id). Fresh entries (``>`` reads) cannot be stored yet and are copied
    straight in, with no unique index to maintain.
    """
    if not entries:
        return 0
    data, days = _rows(entries)
    archive_partitions_ensure(days)
    try:
        return _copy(data, len(entries), redelivered=redelivered)
    except (psycopg.Error, DatabaseError) as error:
        if _sqlstate(error) != "23514":
            raise
    # No partition for a row: our cache of partitions is stale (dropped, or rolled back).
    _known_partitions.clear()
    archive_partitions_ensure(days)
    return _copy(data, len(entries), redelivered=redelivered)


def _copy(data: bytes, count: int, *, redelivered: bool) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        if not redelivered:
            with cursor.copy(f"COPY {TABLE} ({COLUMNS}) FROM STDIN") as copy:
                copy.write(data)
            return count
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS archive_staging (LIKE {TABLE}) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY archive_staging ({COLUMNS}) FROM STDIN") as copy:
            copy.write(data)
        cursor.execute(
            f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM archive_staging staged "
            f"WHERE NOT EXISTS (SELECT 1 FROM {TABLE} stored WHERE stored.ts = staged.ts "
            "AND stored.event_id = staged.event_id AND stored.stream_id = staged.stream_id)"
        )
        return max(cursor.rowcount, 0)


@dataclass
class Archiver:
    """One archiver process's loop state. ``step`` does one read, copy, ack round."""

    consumer: str = field(default_factory=archive_consumer_name)
    batch_size: int = 5000
    block_ms: int = 1000
    client: redis.Redis = field(default_factory=streams.redis_client)
    #: Start by re-reading this consumer's own pending entries (from before a crash).
    reading_pending: bool = True
    last_trim: float = 0.0
    last_claim: float = 0.0
    last_retention: float = 0.0
    archived: int = 0

    def __post_init__(self) -> None:
        archive_groups_ensure(self.client)
        self.stream_keys = [
            streams.event_stream_key(partition) for partition in range(settings.CDP_PARTITIONS)
        ]
        self.partition_of_key = {
            stream_key.encode(): partition for partition, stream_key in enumerate(self.stream_keys)
        }

    def step(self) -> int:
        """Reads, copies, acknowledges one batch; returns the number of entries handled."""
        replies = None
        redelivered = self.reading_pending
        if self.reading_pending:
            replies = self.client.xreadgroup(
                GROUP, self.consumer, dict.fromkeys(self.stream_keys, "0"), count=self.batch_size
            )
            if not any(messages for _, messages in replies or []):
                self.reading_pending = redelivered = False
        if not self.reading_pending:
            replies = self.client.xreadgroup(
                GROUP,
                self.consumer,
                dict.fromkeys(self.stream_keys, ">"),
                count=self.batch_size,
                block=self.block_ms,
            )
        entries: list[tuple[int, bytes, bytes]] = []
        to_ack: dict[str, list[bytes]] = {}
        for stream_key, messages in replies or []:
            name = stream_key if isinstance(stream_key, bytes) else stream_key.encode()
            partition = self.partition_of_key[name]
            for stream_id, fields in messages:
                to_ack.setdefault(name.decode(), []).append(stream_id)
                if fields and b"e" in fields:  # fields is empty for entries trimmed meanwhile
                    entries.append((partition, stream_id, fields[b"e"]))
        if entries:
            self.archived += archive_rows_copy(entries, redelivered=redelivered)
        if to_ack:
            with self.client.pipeline(transaction=False) as pipe:
                for stream_key, identifiers in to_ack.items():
                    pipe.xack(stream_key, GROUP, *identifiers)
                pipe.execute()
        self.housekeeping()
        return sum(len(identifiers) for identifiers in to_ack.values())

    def housekeeping(self, *, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now - self.last_claim > 30:
            self.last_claim = now
            self.claim_abandoned()
        if now - self.last_trim > 10:
            self.last_trim = now
            self.trim()
        if now - self.last_retention > 3600:
            self.last_retention = now
            dropped = archive_partitions_drop_older_than(settings.CDP_ARCHIVE_RETENTION_DAYS)
            if dropped:
                logger.info("archive retention dropped %s", ", ".join(dropped))

    def claim_abandoned(self, *, min_idle_ms: int = 60_000) -> int:
        """Takes over entries another archiver read but never acknowledged (it died)."""
        claimed = 0
        for stream_key in self.stream_keys:
            reply = self.client.xautoclaim(
                stream_key, GROUP, self.consumer, min_idle_ms, "0-0", count=self.batch_size
            )
            claimed += len(reply[1]) if reply else 0
        if claimed:
            self.reading_pending = True
        return claimed

    def trim(self) -> int:
        removed = 0
        for stream_key in self.stream_keys:
            removed += streams.stream_trim_safe(
                self.client, stream_key, keep_seconds=settings.CDP_STREAM_KEEP_SECONDS
            )
        return removed

    def run(self, *, stop_after_idle_s: float | None = None) -> None:
        idle_since = time.monotonic()
        while True:
            handled = self.step()
            if handled:
                idle_since = time.monotonic()
            elif (
                stop_after_idle_s is not None and time.monotonic() - idle_since > stop_after_idle_s
            ):
                return
