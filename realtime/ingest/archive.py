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
import queue
import socket
import threading
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
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
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


_second_texts: dict[int, str] = {}


def _timestamp_text(seconds: float) -> str:
    """Epoch seconds → PostgreSQL timestamptz text, with the per-second part cached (a batch's
    events share few seconds; datetime objects per row cost more than the rest of the row)."""
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    text = _second_texts.get(whole)
    if text is None:
        if len(_second_texts) > 200_000:
            _second_texts.clear()
        text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%d %H:%M:%S")
        _second_texts[whole] = text
    return f"{text}.{micro:06d}+00"


def _needs_escape(value: str) -> bool:
    return "\\" in value or "\t" in value or "\n" in value or "\r" in value


def _rows(entries: list[tuple[int, bytes, bytes]]) -> tuple[bytes, set[date]]:
    """Stream entries → COPY text rows, and the days they fall on."""
    lines: list[str] = []
    day_numbers: set[int] = set()
    for partition, stream_id, payload in entries:
        event = orjson.loads(payload)
        ts = event["ts"]
        day_numbers.add(int(ts) // 86400)
        identifier = stream_id.decode()
        received = int(identifier.split("-", 1)[0]) / 1000
        # JSON escapes control characters itself; only its backslashes need doubling for COPY.
        attributes = orjson.dumps(event.get("attributes") or {}).decode()
        if "\\" in attributes:
            attributes = attributes.replace("\\", "\\\\")
        event_id, type_name, customer_id = (
            str(event["event_id"]),
            str(event["type"]),
            str(event["customer_id"]),
        )
        if _needs_escape(event_id) or _needs_escape(type_name) or _needs_escape(customer_id):
            event_id, type_name, customer_id = (
                _copy_text(event_id),
                _copy_text(type_name),
                _copy_text(customer_id),
            )
        lines.append(
            f"{event_id}\t{type_name}\t{customer_id}\t{_timestamp_text(ts)}\t{attributes}\t"
            f"{_timestamp_text(received)}\t{partition}\t{identifier}"
        )
    days = {date.fromordinal(EPOCH_ORDINAL + number) for number in day_numbers}
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
    return archive_rows_store(data, days, len(entries), redelivered=redelivered)


def archive_rows_store(data: bytes, days: set[date], count: int, *, redelivered: bool) -> int:
    """Stores prepared COPY text (see ``archive_rows_copy``)."""
    archive_partitions_ensure(days)
    try:
        return _copy(data, count, redelivered=redelivered)
    except (psycopg.Error, DatabaseError) as error:
        if _sqlstate(error) != "23514":
            raise
    # No partition for a row: our cache of partitions is stale (dropped, or rolled back).
    _known_partitions.clear()
    archive_partitions_ensure(days)
    return _copy(data, count, redelivered=redelivered)


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
class Batch:
    """Entries read from the streams, prepared as COPY text, and the ids to acknowledge."""

    data: bytes
    days: set[date]
    count: int
    to_ack: dict[str, list[bytes]]
    redelivered: bool = False

    @property
    def size(self) -> int:
        return sum(len(identifiers) for identifiers in self.to_ack.values())


@dataclass
class Archiver:
    """One archiver process's loop state. ``step`` does one read, copy, ack round.

    ``pipelined``: a reader thread reads and prepares the next batch (Redis and Python work)
    while this thread copies the current one into PostgreSQL, so the two overlap instead of
    adding up. The database is only used from the thread that calls ``step``.
    """

    consumer: str = field(default_factory=archive_consumer_name)
    batch_size: int = 5000
    block_ms: int = 1000
    client: redis.Redis = field(default_factory=streams.redis_client)
    pipelined: bool = False
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
        self._ready: queue.Queue[Batch] = queue.Queue(maxsize=2)
        self._reader: threading.Thread | None = None
        self._stopping = threading.Event()
        self._in_flight: set[bytes] = set()
        self._in_flight_lock = threading.Lock()
        self._retry: Batch | None = None

    def _prepare(self, replies: list | None, *, redelivered: bool) -> Batch | None:
        entries: list[tuple[int, bytes, bytes]] = []
        to_ack: dict[str, list[bytes]] = {}
        for stream_key, messages in replies or []:
            name = stream_key if isinstance(stream_key, bytes) else stream_key.encode()
            partition = self.partition_of_key[name]
            for stream_id, fields in messages:
                to_ack.setdefault(name.decode(), []).append(stream_id)
                if fields and b"e" in fields:  # fields is empty for entries trimmed meanwhile
                    entries.append((partition, stream_id, fields[b"e"]))
        if not to_ack:
            return None
        data, days = _rows(entries) if entries else (b"", set())
        return Batch(data, days, len(entries), to_ack, redelivered=redelivered)

    def _read(self, start_id: str, *, block: int | None) -> list | None:
        return self.client.xreadgroup(
            GROUP,
            self.consumer,
            dict.fromkeys(self.stream_keys, start_id),
            count=self.batch_size,
            block=block,
        )

    def _read_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._prepare(self._read(">", block=self.block_ms), redelivered=False)
            except Exception:
                logger.exception("archive reader failed; retrying in 1 s")
                time.sleep(1)
                continue
            if batch is None:
                continue
            with self._in_flight_lock:
                for identifiers in batch.to_ack.values():
                    self._in_flight.update(identifiers)
            while not self._stopping.is_set():
                try:
                    self._ready.put(batch, timeout=0.5)
                    break
                except queue.Full:
                    continue

    def stop(self) -> None:
        self._stopping.set()
        if self._reader is not None:
            self._reader.join(timeout=5)

    def _next_batch(self) -> Batch | None:
        if self._retry is not None:
            batch, self._retry = self._retry, None
            return batch
        if self.reading_pending:
            batch = self._prepare(self._read("0", block=None), redelivered=True)
            if batch is not None:
                return batch
            self.reading_pending = False
        if not self.pipelined:
            return self._prepare(self._read(">", block=self.block_ms), redelivered=False)
        if self._reader is None:
            self._reader = threading.Thread(target=self._read_loop, name="archive-reader")
            self._reader.daemon = True
            self._reader.start()
        try:
            return self._ready.get(timeout=self.block_ms / 1000)
        except queue.Empty:
            return None

    def _store(self, batch: Batch) -> None:
        try:
            if batch.count:
                self.archived += archive_rows_store(
                    batch.data, batch.days, batch.count, redelivered=batch.redelivered
                )
        except Exception:
            # Rows may or may not be committed (the error can come after COMMIT): try again,
            # skipping what is stored.
            batch.redelivered = True
            self._retry = batch
            raise
        with self.client.pipeline(transaction=False) as pipe:
            for stream_key, identifiers in batch.to_ack.items():
                pipe.xack(stream_key, GROUP, *identifiers)
            pipe.execute()
        with self._in_flight_lock:
            for identifiers in batch.to_ack.values():
                self._in_flight.difference_update(identifiers)

    def step(self) -> int:
        """Reads, copies, acknowledges one batch; returns the number of entries handled."""
        batch = self._next_batch()
        if batch is not None:
            self._store(batch)
        self.housekeeping()
        return batch.size if batch is not None else 0

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
        """Takes over entries another archiver read but never acknowledged (it died), and
        stores them at once (skipping rows already stored)."""
        claimed = 0
        for stream_key in self.stream_keys:
            reply = self.client.xautoclaim(
                stream_key, GROUP, self.consumer, min_idle_ms, "0-0", count=self.batch_size
            )
            messages = reply[1] if reply else []
            with self._in_flight_lock:  # our own reader's entries are being stored already
                messages = [m for m in messages if m[0] not in self._in_flight]
            batch = self._prepare([(stream_key.encode(), messages)], redelivered=True)
            if batch is not None:
                self._store(batch)
                claimed += batch.size
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
