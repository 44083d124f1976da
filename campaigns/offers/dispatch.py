"""The dispatcher: the decisions stream → delivery rows → Celery tasks.

The engine appends each decision it committed to PostgreSQL to ``cdp:decisions`` (fields ``d``
decision id, ``campaign``, ``outcome``). The dispatcher reads it in consumer group ``delivery``,
creates the delivery rows of a whole batch in one statement (idempotent: unique per decision and
action), enqueues the sends in batches, and only then XACKs. A dispatcher that dies between the
two leaves the entries pending; the next one claims them (XAUTOCLAIM) and, finding the rows
already there, enqueues them again: the tasks' check-and-set makes that harmless.

Every ``CDP_DELIVERY_SWEEP_EVERY_S`` it also re-enqueues deliveries stuck in ``sending`` past
their lease (a worker killed mid-send, with its whole process group, acknowledges nothing and
Celery gives its messages back only after the broker's visibility timeout, an hour by default).
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
from dataclasses import dataclass

import kombu.exceptions
import redis
from django.conf import settings
from django.db import close_old_connections

from campaigns.offers.delivery import (
    deliveries_create,
    deliveries_enqueue,
    deliveries_requeue_stuck,
)
from realtime import streams

logger = logging.getLogger(__name__)

GROUP = "delivery"


def decisions_stream_key() -> str:
    return streams.key("decisions")


def group_ensure(client: redis.Redis, stream: str) -> None:
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


@dataclass
class DispatchStats:
    entries: int = 0
    deliveries_enqueued: int = 0


def dispatch_batch(
    client: redis.Redis, *, consumer: str, count: int = 500, block_ms: int = 1000
) -> DispatchStats:
    """One round: pending entries of dead consumers first, then new ones."""
    stream = decisions_stream_key()
    stats = DispatchStats()
    # Redis 7 answers (cursor, entries, deleted ids); Redis 6.2 (the embedded server) only the
    # first two.
    claimed = client.xautoclaim(stream, GROUP, consumer, min_idle_time=30_000, count=count)[1]
    entries = list(claimed or [])
    if not entries:
        answer = client.xreadgroup(GROUP, consumer, {stream: ">"}, count=count, block=block_ms)
        for _, stream_entries in answer or []:
            entries += stream_entries
    if not entries:
        return stats
    entry_ids = [entry_id for entry_id, _ in entries]
    decision_ids = []
    for _, fields in entries:
        value = fields.get(b"d") if fields else None
        if value:
            decision_ids.append(value.decode())
    delivery_ids = deliveries_create(decision_ids=decision_ids)
    deliveries_enqueue(delivery_ids)
    client.xack(stream, GROUP, *entry_ids)
    stats.entries = len(entries)
    stats.deliveries_enqueued = len(delivery_ids)
    return stats


def _celery_warm_up() -> None:
    """Imports the Celery app and connects its producer now: otherwise the first batch of a
    burst waits for both (about 150 ms here)."""
    from campaigns.tasks import deliveries_send_task

    try:
        with deliveries_send_task.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
    except (OSError, kombu.exceptions.OperationalError) as error:
        logger.warning("dispatcher: the Celery broker is not reachable yet (%s)", error)


def dispatcher_run(
    *, consumer: str | None = None, count: int = 500, stop_after_s: float | None = None
) -> None:
    _celery_warm_up()
    gc.collect()
    gc.freeze()  # the startup heap is long-lived: keep full collections from walking it again
    client = streams.redis_client()
    group_ensure(client, decisions_stream_key())
    consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
    started = time.monotonic()
    sweep_every = settings.CDP_DELIVERY_SWEEP_EVERY_S
    next_sweep = started + sweep_every
    logger.info("dispatcher %s reading %s", consumer, decisions_stream_key())
    while stop_after_s is None or time.monotonic() - started < stop_after_s:
        try:
            block_ms = int(min(1000, max(sweep_every * 1000, 50)))
            stats = dispatch_batch(client, consumer=consumer, count=count, block_ms=block_ms)
            if sweep_every > 0 and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + sweep_every
                stuck = deliveries_requeue_stuck()
                if stuck:
                    logger.warning("re-enqueued %s stuck deliveries", len(stuck))
        except (redis.ConnectionError, redis.TimeoutError) as error:
            logger.warning("dispatcher: Redis unavailable (%s); retrying", error)
            time.sleep(1.0)
            continue
        if stats.entries:
            logger.debug("dispatched %s decisions", stats.entries)
        close_old_connections()
