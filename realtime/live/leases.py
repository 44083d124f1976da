"""Partition leases with an epoch (fencing token); see the package docstring."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from realtime.live import keys, scripts

LEASE_TTL_S = 2.0
RENEW_S = 0.4


@dataclass(frozen=True, slots=True)
class Lease:
    partition: int
    epoch: int
    token: str


class Leases:
    """The leases one worker holds; every call is one round trip (a Lua script)."""

    def __init__(self, client: redis.Redis, worker_id: str, *, ttl_s: float = LEASE_TTL_S):
        self.client = client
        self.worker_id = worker_id
        self.ttl_ms = int(ttl_s * 1000)
        self.held: dict[int, Lease] = {}
        self._acquire = client.register_script(scripts.ACQUIRE)
        self._renew = client.register_script(scripts.RENEW)
        self._release = client.register_script(scripts.RELEASE)

    def acquire(self, partition: int) -> Lease | None:
        epoch = int(
            self._acquire(
                keys=[keys.lease(partition), keys.epoch(partition), _stream(partition)],
                args=[self.worker_id, self.ttl_ms, keys.GROUP],
            )
        )
        if not epoch:
            return None
        lease = Lease(partition, epoch, f"{self.worker_id}|{epoch}")
        self.held[partition] = lease
        return lease

    def renew(self) -> list[int]:
        """Extends the held leases; returns (and forgets) the partitions whose lease was lost."""
        if not self.held:
            return []
        partitions = sorted(self.held)
        held = self._renew(
            keys=[keys.lease(p) for p in partitions],
            args=[self.ttl_ms, *(self.held[p].token for p in partitions)],
        )
        lost = [p for p, ok in zip(partitions, held, strict=True) if not int(ok)]
        for partition in lost:
            del self.held[partition]
        return lost

    def release(self, partitions: list[int] | None = None) -> None:
        chosen = sorted(self.held if partitions is None else partitions)
        chosen = [p for p in chosen if p in self.held]
        if not chosen:
            return
        self._release(
            keys=[keys.lease(p) for p in chosen], args=[self.held[p].token for p in chosen]
        )
        for partition in chosen:
            del self.held[partition]

    def owners(self, partitions: int) -> dict[int, str]:
        """Partition -> owning worker id, for the partitions that have a live lease."""
        values = self.client.mget([keys.lease(p) for p in range(partitions)])
        return {
            p: value.decode().rsplit("|", 1)[0]
            for p, value in enumerate(values)
            if value is not None
        }


def _stream(partition: int) -> str:
    from realtime import streams

    return streams.event_stream_key(partition)
