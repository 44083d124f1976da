"""Reads of the live engine's health: what /healthz and the Engine page show."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import orjson
from django.conf import settings

from realtime import streams
from realtime.live import keys

FRESH_S = 10.0


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str
    event_id: str
    event_type: str
    customer_id: str
    error: str
    tries: int
    at: float


@dataclass(frozen=True)
class EngineStatus:
    workers: list[dict[str, object]] = field(default_factory=list)
    partitions: list[dict[str, object]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    dead_letter_total: int = 0

    @property
    def lag(self) -> int:
        return sum(int(p.get("lag") or 0) for p in self.partitions)

    @property
    def events_per_s(self) -> float:
        return round(sum(float(p.get("events_per_s") or 0) for p in self.live_partitions), 1)

    @property
    def decisions_per_s(self) -> float:
        return round(sum(float(p.get("decisions_per_s") or 0) for p in self.live_partitions), 1)

    @property
    def timers_pending(self) -> int:
        return sum(int(p.get("timers_pending") or 0) for p in self.live_partitions)

    @property
    def live_partitions(self) -> list[dict[str, object]]:
        return [p for p in self.partitions if p.get("is_owned")]

    @property
    def unowned_partitions(self) -> list[int]:
        return [int(p["partition"]) for p in self.partitions if not p.get("is_owned")]

    def figures(self) -> dict[str, object]:
        return {
            "workers": len([w for w in self.workers if w["is_alive"]]),
            "partitions": len(self.partitions),
            "partitions_unowned": self.unowned_partitions,
            "lag": self.lag,
            "events_per_s": self.events_per_s,
            "decisions_per_s": self.decisions_per_s,
            "timers_pending": self.timers_pending,
            "dead_letters": self.dead_letter_total,
        }


def engine_status(*, dead_letter_limit: int = 20) -> EngineStatus:
    client = streams.redis_client()
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.heartbeats())
    pipe.hgetall(keys.workers())
    pipe.hgetall(keys.partitions())
    pipe.mget([keys.lease(p) for p in range(settings.CDP_PARTITIONS)])
    pipe.xlen(keys.dead_letters())
    pipe.xrevrange(keys.dead_letters(), count=max(1, dead_letter_limit))
    for partition in range(settings.CDP_PARTITIONS):
        pipe.xlen(streams.event_stream_key(partition))
    beats, workers, partitions, leases, dead_total, dead, *lengths = pipe.execute()
    worker_rows = []
    for worker, beat in sorted(beats.items()):
        info = orjson.loads(workers.get(worker, b"{}"))
        worker_rows.append(
            {
                "id": worker.decode(),
                "heartbeat_age_s": round(now - float(beat), 1),
                "is_alive": now - float(beat) < FRESH_S,
                "partitions": info.get("partitions", []),
                "plan_version": info.get("plan_version"),
                "plan_errors": info.get("plan_errors", []),
            }
        )
    partition_rows = []
    for partition in range(settings.CDP_PARTITIONS):
        figure = orjson.loads(partitions.get(str(partition).encode(), b"{}"))
        lease = leases[partition]
        owner = lease.decode().rsplit("|", 1)[0] if lease else None
        is_fresh = now - float(figure.get("at", 0)) < FRESH_S
        partition_rows.append(
            {
                **figure,
                "partition": partition,
                "owner": owner,
                "is_owned": owner is not None and is_fresh,
                "length": lengths[partition],
                "lag": figure.get("lag") if is_fresh else None,
            }
        )
    letters = []
    for entry_id, fields in dead[:dead_letter_limit]:
        try:
            event = orjson.loads(fields.get(b"e", b"{}"))
        except orjson.JSONDecodeError:
            event = {}
        if not isinstance(event, dict):
            event = {}
        letters.append(
            DeadLetter(
                entry_id=entry_id.decode(),
                event_id=str(event.get("event_id", "")),
                event_type=str(event.get("type", "")),
                customer_id=str(event.get("customer_id", "")),
                error=fields.get(b"error", b"").decode(errors="replace"),
                tries=int(fields.get(b"tries", b"0")),
                at=int(entry_id.decode().split("-")[0]) / 1000,
            )
        )
    return EngineStatus(
        workers=worker_rows,
        partitions=partition_rows,
        dead_letters=letters,
        dead_letter_total=int(dead_total),
    )
