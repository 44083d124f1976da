"""The thin Redis adapter: connections, key names, partitions of the event stream.

Key layout (every key starts with ``settings.CDP_KEY_PREFIX``, ``cdp:`` by default):

    cdp:events:{p}        stream of accepted events of partition p (field ``e``: JSON event)
    cdp:engine:heartbeats hash worker id -> last heartbeat (epoch seconds)
    cdp:profile:{customer_id} JSON object of the customer's traits (mirror of segments.Customer)
    cdp:dedupe:{event_id} marker of an accepted event id (24 h and more)

An event on the stream is the JSON object
``{"event_id", "type", "customer_id", "ts" (epoch seconds, float), "attributes"}``.
"""

from __future__ import annotations

import asyncio
import time
import weakref
import zlib
from functools import lru_cache

import orjson
import redis
import redis.asyncio
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


def encode_event(event: dict[str, object]) -> bytes:
    """The stream entry's ``e`` field: ``{"event_id","type","customer_id","ts","attributes"}``."""
    return orjson.dumps(event)


def decode_event(payload: bytes | str) -> dict[str, object]:
    return orjson.loads(payload)


def profile_key(customer_id: str) -> str:
    """String key holding the JSON object of one customer's traits (the profile mirror)."""
    return key("profile", customer_id)


def stream_trim_safe(client: redis.Redis, stream: str, *, keep_seconds: float) -> int:
    """Trims ``stream`` below what every consumer group has acknowledged, and no younger than
    ``keep_seconds``. Returns the number of entries removed.

    ``XTRIM MAXLEN`` would silently drop entries still pending or never delivered to a group
    (shared/RELIABILITY.md); here the bound is the smallest of, over every group, its oldest
    pending entry or (if none pending) its last delivered id, so nothing a group still needs
    goes. A stream without groups is never trimmed: a consumer may not have joined yet.
    """
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return 0  # no such stream
    if not groups:
        return 0
    bound = _stream_id_tuple(f"{int((time.time() - keep_seconds) * 1000)}-0")
    for group in groups:
        name = group["name"]
        milliseconds, sequence = _stream_id_tuple(group["last-delivered-id"])
        # Everything up to and including the last delivered id is done unless still pending.
        bound = min(bound, (milliseconds, sequence + 1))
        if group.get("pending"):
            summary = client.xpending(stream, name)
            if summary and summary.get("min"):
                bound = min(bound, _stream_id_tuple(summary["min"]))
    if bound <= (0, 0):
        return 0
    return int(client.xtrim(stream, minid=f"{bound[0]}-{bound[1]}", approximate=False))


def _stream_id_tuple(stream_id: bytes | str) -> tuple[int, int]:
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
    weakref.WeakKeyDictionary()
)


def async_redis_client() -> redis.asyncio.Redis:
    """An asyncio client for the running event loop (asyncio connections cannot cross loops)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL, health_check_interval=30)
        _async_clients[loop] = client
    return client


def group_lag(
    client: redis.Redis, stream: str, group_info: dict, *, cap: int = 1_000
) -> int | None:
    """Entries of ``stream`` not yet delivered to the group described by ``group_info`` (one
    item of XINFO GROUPS).

    Redis 7 reports this as ``lag``; Redis 6.2 (the embedded server) does not, and Redis 7 says
    nil after deletions: then count the entries after the group's last delivered id, up to
    ``cap``: XRANGE returns whole entries, and the engine asks for every partition every second,
    so a backlog reads as "at least ``cap``" rather than costing its size in transfer.
    """
    lag = group_info.get("lag")
    if lag is not None:
        return int(lag)
    last = group_info.get("last-delivered-id")
    if last is None:
        return None
    last_id = last.decode() if isinstance(last, bytes) else str(last)
    return len(client.xrange(stream, min=f"({last_id}", count=cap))
