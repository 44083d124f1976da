"""The thin Redis adapter: connections, key names, partitions of the event stream.

Key layout (every key starts with ``settings.CDP_KEY_PREFIX``, ``cdp:`` by default):

    cdp:events:{p}        stream of accepted events of partition p (field ``e``: JSON event)
    cdp:engine:heartbeats hash worker id -> last heartbeat (epoch seconds)

An event on the stream is the JSON object
``{"event_id", "type", "customer_id", "ts" (epoch seconds, float), "attributes"}``.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=8)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, health_check_interval=30)


def redis_client() -> redis.Redis:
    """A client on the shared pool: bytes in, bytes out."""
    return redis.Redis(connection_pool=_pool(settings.REDIS_URL))


def key(*parts: object) -> str:
    return settings.CDP_KEY_PREFIX + ":".join(str(part) for part in parts)


def partition_of(customer_id: str, partitions: int | None = None) -> int:
    """Stable across processes and machines (unlike ``hash()``): one customer, one partition."""
    return zlib.crc32(customer_id.encode()) % (partitions or settings.CDP_PARTITIONS)


def event_stream_key(partition: int) -> str:
    return key("events", partition)
