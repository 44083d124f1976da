"""The live engine end to end: HTTP ingest -> Redis Streams -> run_engine -> PostgreSQL.

One uvicorn worker serves ``POST /api/v1/events``; ``manage.py run_engine`` workers evaluate
three live campaigns (one per event type the load sends, each deciding on every event) and
commit the decisions. Figures:

- ``e2e_events_per_s``: a backlog-free sustained run of the ingest load generator
  (``bench/_ingest_load.py``, batches of 500); decisions committed / (last decision committed -
  first event received);
- ``e2e_p50_ms_at_5000`` / ``e2e_p99_ms_at_5000``: events offered at 5,000/s (batches of 50
  every 10 ms); per decision, ``decided_at`` (clock_timestamp() of the insert, just before the
  commit) minus the event's ``ts`` (stamped by the ingest API when it received the request);
- ``publish_to_live_ms``: a campaign published (rows + ``campaigns_changed_notify``) until every
  worker runs a plan that includes it (worst of 5);
- ``takeover_s``: two workers sharing the partitions, ``kill -9`` one, until the other holds every
  partition and processes it.

Servers: ``DATABASE_URL`` / ``REDIS_URL`` when set, else the embedded ones of ``make run``.
Everything lives under its own Redis key prefix and is removed afterwards, campaigns included.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench._ingest_load import PLACEHOLDER, _read_response, templates
from bench.ingest import _delete_prefix, _free_port, _wait_for_port
from cdp_site import platform

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PARTITIONS = 16

SEED = """
import sys, django; django.setup()
from django.contrib.auth import get_user_model
from campaigns.models import Campaign, CampaignStatus, CampaignVersion
from realtime.demo import demo_event_types_ensure
from realtime.ingest.services import source_create
from realtime.live.reload import campaigns_changed_notify
run_id = sys.argv[1]
demo_event_types_ensure()
owner, _ = get_user_model().objects.get_or_create(username="bench-engine")
for event_type in ("card_transaction", "product_view", "screen_view"):
    spec = {"spec": 1, "name": f"{run_id} {event_type}", "trigger": {"event": event_type},
            "actions": [{"notify_staff": {"team": "bench", "message": "x"}}]}
    campaign = Campaign.objects.create(name=spec["name"], owner=owner, draft_spec=spec)
    version = CampaignVersion.objects.create(campaign=campaign, number=1, spec=spec,
                                             published_by=owner)
    campaign.live_version = version
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save()
campaigns_changed_notify()
print(source_create(name=run_id, rate_limit_per_second=1000000)[1])
"""

PUBLISH = """
import sys, time, json, django; django.setup()
import orjson
from django.contrib.auth import get_user_model
from campaigns.models import Campaign, CampaignStatus, CampaignVersion
from realtime import streams
from realtime.live import keys
from realtime.live.reload import campaigns_changed_notify
run_id = sys.argv[1]
owner = get_user_model().objects.get(username="bench-engine")
client = streams.redis_client()
results = []
for attempt in range(5):
    spec = {"spec": 1, "name": f"{run_id} publish {attempt}", "trigger": {"event": "click"},
            "actions": [{"notify_staff": {"team": "bench", "message": "x"}}]}
    started = time.time()
    campaign = Campaign.objects.create(name=spec["name"], owner=owner, draft_spec=spec)
    version = CampaignVersion.objects.create(campaign=campaign, number=1, spec=spec,
                                             published_by=owner)
    campaign.live_version = version
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save()
    campaigns_changed_notify()
    wanted = int(client.get(keys.campaigns_version()))
    while True:
        workers = [orjson.loads(v) for v in client.hvals(keys.workers())]
        if workers and all(w["plan_version"] >= wanted for w in workers):
            break
        time.sleep(0.002)
    results.append(1000 * (time.time() - started))
    time.sleep(0.3)
print(json.dumps(results))
"""

FIGURES = """
import sys, json, django; django.setup()
from django.db import connection
run_id, prefix = sys.argv[1], sys.argv[2]
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT count(*), extract(epoch from max(d.decided_at) - min(d.occurred_at)), "
        "percentile_cont(0.5) within group (order by extract(epoch from latency)), "
        "percentile_cont(0.99) within group (order by extract(epoch from latency)) "
        "FROM campaigns_decision d JOIN campaigns_campaign c ON c.id = d.campaign_id, "
        "LATERAL (SELECT d.decided_at - d.occurred_at AS latency) l "
        "WHERE c.name LIKE %s AND d.trigger_event_id LIKE %s",
        [run_id + " %", prefix + "-%"],
    )
    print(json.dumps(cursor.fetchone(), default=float))
"""

CLEANUP = """
import sys, django; django.setup()
from campaigns.models import Campaign
from realtime.models import Source
run_id = sys.argv[1]
Campaign.objects.filter(name__startswith=run_id + " ").delete()
Source.objects.filter(name=run_id).delete()
"""


def _python(environment: dict[str, str], code: str, *arguments: str) -> str:
    done = subprocess.run(
        [PYTHON, "-c", code, *arguments],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def _engine(environment: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "manage.py", "run_engine", "--worker-id", name, "-v", "0"],
        cwd=ROOT,
        env=environment,
    )


def _leases(environment: dict[str, str], prefix: str) -> list[str | None]:
    import redis

    client = redis.Redis.from_url(environment["REDIS_URL"])
    values = client.mget([f"{prefix}engine:lease:{p}" for p in range(PARTITIONS)])
    return [value.decode().rsplit("|", 1)[0] if value else None for value in values]


def _decisions(environment: dict[str, str], run_id: str, events_prefix: str) -> list[float]:
    return json.loads(_python(environment, FIGURES, run_id, events_prefix))


async def _paced(port: int, key: str, run_id: str, seconds: float, per_s: int) -> int:
    """Offers ``per_s`` events per second in batches of 50 every 10 ms over 4 connections."""
    batch = 50
    bodies = templates(run_id, batch)
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
    locks = [asyncio.Lock() for _ in connections]
    interval = batch / per_s
    started = time.perf_counter()
    number = 0
    tasks = []

    async def post(index: int, request: bytes) -> None:
        reader, writer = connections[index]
        async with locks[index]:
            writer.write(request)
            await _read_response(reader)

    while time.perf_counter() - started < seconds:
        which = number % len(bodies)
        body = bodies[which].replace(PLACEHOLDER, b"%09d" % number)
        head = (
            f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        tasks.append(asyncio.create_task(post(number % len(connections), head + body)))
        number += 1
        delay = started + number * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.gather(*tasks)
    for _, writer in connections:
        writer.close()
    return number * batch


def _wait_decisions(environment, run_id, prefix, expected, timeout=180.0) -> list[float]:
    deadline = time.time() + timeout
    while True:
        figures = _decisions(environment, run_id, prefix)
        if figures[0] >= expected or time.time() > deadline:
            return figures
        time.sleep(1.0)


def run(*, quick: bool) -> dict[str, Any]:
    batches = 60 if quick else 300
    run_id = f"benchengine{uuid.uuid4().hex[:8]}"
    prefix = f"cdp-bench-{run_id}:"
    with platform.servers() as environment:
        environment = {
            **environment,
            "DJANGO_SETTINGS_MODULE": "cdp_site.settings.dev",
            "CDP_KEY_PREFIX": prefix,
            "CDP_PARTITIONS": str(PARTITIONS),
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0", "--skip-checks"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        key = _python(environment, SEED, run_id)
        port = _free_port()
        web = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "cdp_site.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT,
            env=environment,
        )  # fmt: skip
        engines = {"alpha": _engine(environment, "alpha")}
        try:
            _wait_for_port(port)
            deadline = time.time() + 60
            while not all(_leases(environment, prefix)) and time.time() < deadline:
                time.sleep(0.1)

            # 1. sustained end-to-end throughput
            throughput_id = f"{run_id}t"
            load = subprocess.run(
                [PYTHON, "-m", "bench._ingest_load", "--port", str(port), "--key", key,
                 "--batches", str(batches), "--batch-size", "500", "--connections", "4",
                 "--run-id", throughput_id],
                cwd=ROOT, env=environment, check=True, capture_output=True, text=True,
            )  # fmt: skip
            sent = json.loads(load.stdout.strip().splitlines()[-1])["events"] + 4 * 500
            count, span, _, _ = _wait_decisions(environment, run_id, throughput_id, sent)
            e2e_per_s = count / span if span else 0.0

            # 2. latency at an offered 5,000 events/s
            paced_id = f"{run_id}p"
            offered = asyncio.run(_paced(port, key, paced_id, 5.0 if quick else 15.0, 5000))
            paced = _wait_decisions(environment, run_id, paced_id, offered, timeout=60)

            # 3. publish to live
            publish_ms = json.loads(_python(environment, PUBLISH, run_id))

            # 4. takeover
            engines["beta"] = _engine(environment, "beta")
            deadline = time.time() + 30
            while time.time() < deadline:
                owners = _leases(environment, prefix)
                if owners.count("beta") >= PARTITIONS // 2 and all(owners):
                    break
                time.sleep(0.05)
            killed = time.time()
            engines["alpha"].send_signal(signal.SIGKILL)
            engines["alpha"].wait(10)
            while _leases(environment, prefix).count("beta") < PARTITIONS:
                if time.time() - killed > 30:
                    break
                time.sleep(0.02)
            takeover_s = time.time() - killed
        finally:
            for process in [web, *engines.values()]:
                if process.poll() is None:
                    process.terminate()
            for process in [web, *engines.values()]:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            _python(environment, CLEANUP, run_id)
            _delete_prefix(environment, prefix)
    return {
        "figures": {
            "e2e_events_per_s": round(e2e_per_s, 1),
            "e2e_p50_ms_at_5000": round(1000 * paced[2], 2),
            "e2e_p99_ms_at_5000": round(1000 * paced[3], 2),
            "publish_to_live_ms": round(max(publish_ms), 1),
            "takeover_s": round(takeover_s, 2),
            "e2e_decisions": int(count),
            "e2e_events_sent": sent,
            "paced_events_sent": offered,
            "paced_decisions": int(paced[0]),
        },
        "units": {
            "e2e_events_per_s": "events/s",
            "e2e_p50_ms_at_5000": "ms",
            "e2e_p99_ms_at_5000": "ms",
            "publish_to_live_ms": "ms",
            "takeover_s": "s",
            "e2e_decisions": "decisions",
            "e2e_events_sent": "events",
            "paced_events_sent": "events",
            "paced_decisions": "decisions",
        },
        "goals": {
            "e2e_events_per_s": ">= 30000",
            "e2e_p99_ms_at_5000": "<= 50",
            "publish_to_live_ms": "<= 1000",
            "takeover_s": "<= 5",
        },
        "notes": (
            "one uvicorn worker + one run_engine worker (two for the takeover) + load generator + "
            "PostgreSQL + Redis on the same 2 cores; every event decides (3 campaigns, one per "
            "event type sent); HTTP ingest through the real API."
        ),
    }


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.dev")
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
