"""kill -9 Redis (AOF on) while events flow and restart it (shared/RELIABILITY.md, item 2):
every event Redis acknowledged is processed, once, and the workers reconnect by themselves."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from campaigns.models import Decision
from cdp_site import embedded
from realtime import streams
from realtime.live import keys

TOTAL = int(os.environ.get("REDIS_RESTART_TEST_EVENTS", "20000"))
CUSTOMERS = 500


@pytest.fixture
def aof_redis(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Redis of its own (the embedded one of ``make run``: AOF, everysec) in a temp folder."""
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path))
    server = embedded.redis_start(preferred_port=_free_port())
    settings.REDIS_URL = server.url
    holder = {"server": server}
    yield holder
    embedded.redis_stop(holder["server"])


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _kill_9(server: Any) -> None:
    os.kill(server.pid, signal.SIGKILL)
    while True:
        try:
            os.waitpid(server.pid, 0)  # our child: reap it
        except ChildProcessError:
            break
    (server.folder / "redis.pid").unlink(missing_ok=True)


class Producer(threading.Thread):
    """Appends events in pipelined chunks; a chunk Redis did not acknowledge (it was down) is
    sent again once it is back, with the same event ids, as an ingest client would."""

    def __init__(self, total: int) -> None:
        super().__init__(daemon=True)
        self.total = total
        self.acknowledged: set[str] = set()
        self.retries = 0

    def run(self) -> None:
        client = streams.redis_client()
        sent = 0
        while sent < self.total:
            chunk = []
            for n in range(sent, min(sent + 500, self.total)):
                customer = f"r{n % CUSTOMERS}"
                event = {"event_id": f"{customer}-{n}", "type": "tick", "customer_id": customer,
                         "ts": time.time(), "attributes": {"n": n}}  # fmt: skip
                chunk.append((streams.event_stream_key(streams.partition_of(customer)), event))
            while True:
                try:
                    pipe = client.pipeline(transaction=False)
                    for stream, event in chunk:
                        pipe.xadd(stream, {"e": orjson.dumps(event)})
                    pipe.execute()
                    break
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    self.retries += 1
                    time.sleep(0.1)
            self.acknowledged.update(event["event_id"] for _, event in chunk)
            sent += len(chunk)
            time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_redis_killed_and_restarted_loses_no_acknowledged_event(
    aof_redis, engine_processes, campaign_live
):
    # given a worker on a Redis with AOF, and a campaign deciding on every event
    engine_processes.environment["REDIS_URL"] = aof_redis["server"].url
    every = campaign_live(
        {"spec": 1, "name": "every tick", "trigger": {"event": "tick"},
         "actions": [{"notify_staff": {"team": "t", "message": "{n}"}}]}
    )  # fmt: skip
    engine_processes.start("alpha")
    engine_processes.wait_ready()
    producer = Producer(TOTAL)
    started = time.time()

    # when Redis is killed with kill -9 while events flow, and restarted on the same port
    producer.start()
    deadline = time.time() + 60
    while Decision.objects.count() < TOTAL // 3 and time.time() < deadline:
        time.sleep(0.05)
    decided_before = Decision.objects.count()
    server = aof_redis["server"]
    _kill_9(server)
    killed_at = time.time()
    time.sleep(1.0)
    restarted = embedded.redis_start(preferred_port=server.port)
    aof_redis["server"] = restarted
    assert restarted.port == server.port
    producer.join(120)
    deadline = time.time() + 120
    while Decision.objects.count() < len(producer.acknowledged) and time.time() < deadline:
        time.sleep(0.2)
    recovered_s = time.time() - killed_at
    time.sleep(1.0)  # a late duplicate would show now

    # then every acknowledged event was decided once; the worker is back on every partition
    decided = set(
        Decision.objects.filter(campaign=every).values_list("trigger_event_id", flat=True)
    )
    lost = producer.acknowledged - decided
    client = streams.redis_client()
    stream_ids = [fields[b"d"] for _, fields in client.xrange(keys.decisions())]
    duplicates = len(stream_ids) - len(set(stream_ids))
    print(
        f"\nredis restart test: sent={TOTAL} acknowledged={len(producer.acknowledged)} "
        f"decided_before_kill={decided_before} decisions={len(decided)} lost={len(lost)} "
        f"duplicates_in_decisions_stream={duplicates} producer_retries={producer.retries} "
        f"recovered_s={recovered_s:.1f} elapsed_s={time.time() - started:.1f}"
    )
    assert producer.acknowledged and not lost, sorted(lost)[:10]
    assert Decision.objects.filter(campaign=every).count() == len(decided)
    assert duplicates == 0
    assert engine_processes.processes["alpha"].poll() is None, "the worker died"
    leases = client.mget([keys.lease(p) for p in range(4)])
    assert all(lease and lease.startswith(b"alpha|") for lease in leases)
