"""Liveness of what the platform needs: the database, Redis and at least one engine worker."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection

from realtime import streams

ENGINE_HEARTBEAT_FRESH_S = 10.0


@dataclass(frozen=True)
class Health:
    components: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def is_healthy(self) -> bool:
        return all(component["up"] for component in self.components.values())


def health_check() -> Health:
    components: dict[str, dict[str, object]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        components["database"] = {"up": True}
    except Exception as error:  # any failure means "down"; the message says which
        components["database"] = {"up": False, "error": str(error)[:200]}
    try:
        client = streams.redis_client()
        client.ping()
        components["redis"] = {"up": True}
        heartbeats = client.hgetall(streams.key("engine", "heartbeats"))
        now = time.time()
        alive = [
            worker.decode()
            for worker, beat in heartbeats.items()
            if now - float(beat) < ENGINE_HEARTBEAT_FRESH_S
        ]
        components["engine"] = {"up": bool(alive), "workers": sorted(alive)}
        from realtime.live.selectors import engine_status  # lag, rates, timers, dead letters

        components["engine"].update(engine_status(dead_letter_limit=0).figures())
        components["engine"]["workers"] = sorted(alive)
        if not alive:
            components["engine"]["error"] = "no engine worker has reported in the last 10 s"
    except Exception as error:
        components["redis"] = {"up": False, "error": str(error)[:200]}
        components["engine"] = {"up": False, "error": "unknown: Redis is unreachable"}
    return Health(components=components)
