"""The live engine end to end: HTTP ingest -> Redis Streams -> run_engine -> PostgreSQL.

One uvicorn worker serves ``POST /api/v1/events``; ``manage.py run_engine`` workers (``WORKERS``,
``BENCH_ENGINE_WORKERS`` to change) evaluate the live campaigns and commit the decisions. The
workload (``bench/_engine_workload.py``) is what a bank's engine sees: the campaigns of scenarios
1, 2, 3, 7 and 8 plus a calendar of 300 filler campaigns over the event mix of a bank app
(sessions of screen views, app opens, product views, card payments...), customers with profiles
in the Redis mirror; a few percent of events decide. Figures:

- ``e2e_events_per_s``: that mix sent as fast as the ingest API takes it (a load generator in
  its own process, batches of 500, 4 connections); events sent / (the moment every partition's
  consumer group had processed and acknowledged everything, which happens only after the
  decisions are committed in PostgreSQL - the first request sent);
- ``e2e_p50_ms_at_5000`` / ``e2e_p99_ms_at_5000``: the same mix offered at 5,000 events/s
  (batches of 50 every 10 ms); over the decisions those events produced, ``decided_at``
  (``clock_timestamp()`` of the insert, just before the commit) minus ``occurred_at`` (the
  event's ``ts``, stamped by the ingest API when it received the request);
- ``e2e_decisions_per_s_all_decide`` (the worst case): every event decides (one campaign on a
  ``bench_tick`` event type); decisions committed / (last decision committed - first event
  received);
- ``publish_to_live_ms``: a campaign published (rows + ``campaigns_changed_notify``) until every
  worker runs a plan that includes it (worst of 5);
- ``takeover_s``: ``kill -9`` one of two workers sharing the partitions, until the other holds
  every partition and processes it.

Servers: ``DATABASE_URL`` / ``REDIS_URL`` when set, else the embedded ones of ``make run``.
Everything lives under its own Redis key prefix and is removed afterwards, campaigns, event
types and profiles included.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import _engine_workload as workload
from bench._ingest_load import PLACEHOLDER, _read_response
from bench.ingest import _delete_prefix, _free_port, _wait_for_port
from cdp_site import platform

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PARTITIONS = 16
WORKERS = int(os.environ.get("BENCH_ENGINE_WORKERS", "1"))
CUSTOMERS = 50_000

SEED = """
import sys, json, django; django.setup()
import orjson
from django.contrib.auth import get_user_model
from campaigns.models import Campaign, CampaignStatus, CampaignVersion
from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.ingest.services import event_type_create, source_create
from realtime.live.reload import campaigns_changed_notify
from realtime.models import EventType
from bench import _engine_workload as workload
run_id, customers = sys.argv[1], int(sys.argv[2])
demo_event_types_ensure()
existing = set(EventType.objects.values_list("name", flat=True))
created = [name for name in workload.EXTRA_EVENT_TYPES if name not in existing]
for name in created:
    event_type_create(name=name, description="bench engine")
owner, _ = get_user_model().objects.get_or_create(username="bench-engine")
specs = [workload.all_decide_spec(), *workload.scenario_specs(), *workload.filler_specs(300)]
for spec in specs:
    spec = {**spec, "name": f"{run_id} {spec['name']}"}
    campaign = Campaign.objects.create(name=spec["name"], owner=owner, draft_spec=spec)
    version = CampaignVersion.objects.create(campaign=campaign, number=1, spec=spec,
                                             published_by=owner)
    campaign.live_version = version
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save()
client = streams.redis_client()
pipe = client.pipeline(transaction=False)
for number, (customer, traits) in enumerate(workload.profiles(customers).items()):
    pipe.set(streams.profile_key(customer), orjson.dumps(traits))
    if number % 5000 == 4999:
        pipe.execute()
pipe.execute()
campaigns_changed_notify()
key = source_create(name=run_id, rate_limit_per_second=1000000)[1]
print(json.dumps({"key": key, "event_types": created, "campaigns": len(specs)}))
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

SERIES = """
import sys, json, django; django.setup()
from django.db import connection
run_id, prefix = sys.argv[1], sys.argv[2]
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT extract(epoch from d.occurred_at), "
        "1000 * extract(epoch from d.decided_at - d.occurred_at) "
        "FROM campaigns_decision d JOIN campaigns_campaign c ON c.id = d.campaign_id "
        "WHERE c.name LIKE %s AND d.trigger_event_id LIKE %s ORDER BY 1",
        [run_id + " %", prefix + "-%"],
    )
    print(json.dumps(cursor.fetchall(), default=float))
"""

CLEANUP = """
import sys, json, django; django.setup()
from campaigns.models import Campaign
from realtime.models import EventType, Source
run_id, created = sys.argv[1], json.loads(sys.argv[2])
Campaign.objects.filter(name__startswith=run_id + " ").delete()
Source.objects.filter(name=run_id).delete()
EventType.objects.filter(name__in=created, description="bench engine").delete()
"""

#: The decisions a run deletes leave dead rows behind; the next run's inserts would pay for
#: them (they piled up to half a million here before autovacuum came by).
VACUUM = """
import django; django.setup()
from django.db import connection
with connection.cursor() as cursor:
    for table in ("campaigns_decision", "segments_customer"):
        cursor.execute(f"VACUUM (ANALYZE) {table}")
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


def _drained_at(environment: dict[str, str], prefix: str, timeout: float = 180.0) -> float:
    """The moment every partition's engine group had read and acknowledged everything appended
    (a worker acknowledges a batch only after its decisions are committed in PostgreSQL)."""
    import redis

    client = redis.Redis.from_url(environment["REDIS_URL"])
    streams_ = [f"{prefix}events:{p}" for p in range(PARTITIONS)]
    deadline = time.time() + timeout
    while time.time() < deadline:
        pipe = client.pipeline(transaction=False)
        for stream in streams_:
            pipe.xinfo_stream(stream)
            pipe.xinfo_groups(stream)
        replies = pipe.execute(raise_on_error=False)
        moment = time.time()
        done = True
        for info, groups in zip(replies[::2], replies[1::2], strict=True):
            if isinstance(info, Exception):
                continue  # no event reached this partition
            group = next((g for g in groups if g["name"] == b"engine"), None)
            if (
                group is None
                or group["pending"]
                or group["last-delivered-id"] != info["last-generated-id"]
            ):
                done = False
                break
        if done:
            return moment
        time.sleep(0.01)
    raise RuntimeError("the engine did not drain the streams in time")


def _load(environment, port: int, key: str, bodies: Path, batches: int) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-m", "bench._engine_load", "--port", str(port), "--key", key,
         "--bodies", str(bodies), "--batches", str(batches), "--connections", "4"],
        cwd=ROOT, env=environment, check=True, capture_output=True, text=True,
    )  # fmt: skip
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["failures"]:
        raise RuntimeError(f"ingest refused requests: {figures['first_failure']}")
    return figures


async def _paced(port: int, key: str, bodies: list[bytes], seconds: float, per_s: int) -> int:
    """Offers ``per_s`` events per second in batches of 50 every 10 ms over 4 connections."""
    batch = bodies[0].count(b'"event_id"')
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
    locks = [asyncio.Lock() for _ in connections]
    interval = batch / per_s
    started = time.perf_counter()
    number = 0
    tasks = []
    failures: list[int] = []

    async def post(index: int, request: bytes) -> None:
        reader, writer = connections[index]
        async with locks[index]:
            writer.write(request)
            status, _ = await _read_response(reader)
            if status != 200:
                failures.append(status)

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
    if failures:
        raise RuntimeError(f"ingest refused {len(failures)} paced requests")
    return number * batch


def _profile(engines: dict[str, subprocess.Popen[bytes]], phase: str, seconds: float) -> None:
    """With ``BENCH_ENGINE_PROFILE=folder``: py-spy samples every engine worker during a phase
    (collapsed stacks, idle included, in ``folder/{phase}-{worker}.txt``)."""
    folder = os.environ.get("BENCH_ENGINE_PROFILE")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, process in engines.items():
        subprocess.Popen(
            [str(Path(PYTHON).parent / "py-spy"), "record", "--pid", str(process.pid),
             "--duration", str(max(1, int(seconds))), "--rate", "200", "--idle",
             "--nonblocking", "--format", "raw", "-o", f"{folder}/{phase}-{name}.txt"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip


def _cpu(processes: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process."""
    import psutil

    used = {}
    for name, process in processes.items():
        times = psutil.Process(process.pid).cpu_times()
        used[name] = times.user + times.system
    return used


def _bodies_file(folder: Path, name: str, bodies: list[bytes]) -> Path:
    path = folder / f"{name}.jsonl"
    path.write_bytes(b"\n".join(bodies) + b"\n")
    return path


def run(*, quick: bool) -> dict[str, Any]:
    batches = 160 if quick else 600  # of 500 events, realistic mix
    tick_batches = 40 if quick else 200  # of 500 events, every one decides
    paced_seconds = 6.0 if quick else 20.0
    run_id = f"benchengine{uuid.uuid4().hex[:8]}"
    prefix = f"cdp-bench-{run_id}:"
    folder = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    created_types: list[str] = []
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
        _python(environment, VACUUM)
        seeded = json.loads(_python(environment, SEED, run_id, str(CUSTOMERS)))
        key, created_types = seeded["key"], seeded["event_types"]
        throughput_id, paced_id, tick_id = f"{run_id}t", f"{run_id}p", f"{run_id}d"
        # Every request body distinct: replaying the same sessions would make the same
        # customers cross their count windows again and again (and decide far more often).
        realistic = _bodies_file(
            folder,
            "realistic",
            workload.realistic_bodies(
                throughput_id, customers=CUSTOMERS, batch_size=500, count=batches
            ),
        )
        ticks = _bodies_file(
            folder,
            "ticks",
            workload.all_decide_bodies(tick_id, customers=CUSTOMERS, batch_size=500, count=8),
        )
        paced_bodies = workload.realistic_bodies(
            paced_id, customers=CUSTOMERS, batch_size=50, count=int(paced_seconds * 100), seed=6
        )
        port = _free_port()
        web = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "cdp_site.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT,
            env=environment,
        )  # fmt: skip
        names = ["alpha", "beta", "gamma", "delta"][: max(1, WORKERS)]
        engines = {name: _engine(environment, name) for name in names}
        try:
            _wait_for_port(port)
            deadline = time.time() + 60
            while not all(_leases(environment, prefix)) and time.time() < deadline:
                time.sleep(0.1)

            # 1. sustained end-to-end throughput, realistic mix
            _profile(engines, "throughput", 3)
            cpu_before = _cpu({"web": web, **engines})
            load = _load(environment, port, key, realistic, batches)
            drained = _drained_at(environment, prefix)
            cpu = {k: v - cpu_before[k] for k, v in _cpu({"web": web, **engines}).items()}
            sent = load["events"]
            e2e_per_s = sent / (drained - load["started"])
            realistic_decisions = int(_decisions(environment, run_id, throughput_id)[0])

            # 2. latency at an offered 5,000 events/s, realistic mix
            _profile(engines, "paced", paced_seconds - 1)
            offered = asyncio.run(_paced(port, key, paced_bodies, paced_seconds, 5000))
            _drained_at(environment, prefix)
            paced = _decisions(environment, run_id, paced_id)
            if os.environ.get("BENCH_ENGINE_PROFILE"):  # (occurred_at, latency ms) per decision
                Path(os.environ["BENCH_ENGINE_PROFILE"], "paced-latency.json").write_text(
                    _python(environment, SERIES, run_id, paced_id)
                )

            # 3. the worst case: every event decides
            _profile(engines, "all_decide", 3)
            tick_load = _load(environment, port, key, ticks, tick_batches)
            _drained_at(environment, prefix)
            ticks_decided, tick_span, _, _ = _decisions(environment, run_id, tick_id)
            all_decide_per_s = ticks_decided / tick_span if tick_span else 0.0

            # 4. publish to live
            publish_ms = json.loads(_python(environment, PUBLISH, run_id))

            # 5. takeover
            if len(engines) < 2:
                engines["beta"] = _engine(environment, "beta")
            survivor, victim = sorted(engines)[1], sorted(engines)[0]
            deadline = time.time() + 30
            while time.time() < deadline:
                owners = _leases(environment, prefix)
                if owners.count(survivor) >= PARTITIONS // len(engines) and all(owners):
                    break
                time.sleep(0.05)
            killed = time.time()
            engines[victim].send_signal(signal.SIGKILL)
            engines[victim].wait(10)
            while _leases(environment, prefix).count(victim):
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
            _python(environment, CLEANUP, run_id, json.dumps(created_types))
            _python(environment, VACUUM)
            _delete_prefix(environment, prefix)
    return {
        "figures": {
            "e2e_events_per_s": round(e2e_per_s, 1),
            "e2e_p50_ms_at_5000": round(1000 * paced[2], 2),
            "e2e_p99_ms_at_5000": round(1000 * paced[3], 2),
            "publish_to_live_ms": round(max(publish_ms), 1),
            "takeover_s": round(takeover_s, 2),
            "e2e_decisions_per_s_all_decide": round(all_decide_per_s, 1),
            "e2e_events_sent": sent,
            "e2e_decisions": realistic_decisions,
            "e2e_decision_share_pct": round(100 * realistic_decisions / sent, 2),
            "ingest_events_per_s_during_e2e": round(load["ingest_events_per_s"], 1),
            "engine_cpu_us_per_event": round(
                1e6 * sum(v for k, v in cpu.items() if k != "web") / sent, 1
            ),
            "web_cpu_us_per_event": round(1e6 * cpu["web"] / sent, 1),
            "paced_events_sent": offered,
            "paced_decisions": int(paced[0]),
            "all_decide_events_sent": tick_load["events"],
            "all_decide_decisions": int(ticks_decided),
            "engine_workers": len(names),
        },
        "units": {
            "e2e_events_per_s": "events/s",
            "e2e_p50_ms_at_5000": "ms",
            "e2e_p99_ms_at_5000": "ms",
            "publish_to_live_ms": "ms",
            "takeover_s": "s",
            "e2e_decisions_per_s_all_decide": "decisions/s",
            "e2e_events_sent": "events",
            "e2e_decisions": "decisions",
            "e2e_decision_share_pct": "%",
            "ingest_events_per_s_during_e2e": "events/s",
            "engine_cpu_us_per_event": "µs CPU",
            "web_cpu_us_per_event": "µs CPU",
            "paced_events_sent": "events",
            "paced_decisions": "decisions",
            "all_decide_events_sent": "events",
            "all_decide_decisions": "decisions",
            "engine_workers": "processes",
        },
        "goals": {
            "e2e_events_per_s": ">= 30000",
            "e2e_p99_ms_at_5000": "<= 50",
            "publish_to_live_ms": "<= 1000",
            "takeover_s": "<= 5",
        },
        "notes": (
            f"one uvicorn worker + {len(names)} run_engine worker(s) (two for the takeover) + "
            "load generator + PostgreSQL + Redis on the same 2 cores; realistic workload: "
            "scenarios 1, 2, 3, 7, 8 + 300 filler campaigns over a bank-app event mix, "
            f"{CUSTOMERS:,} customers with profiles (latency over the decisions of the paced "
            "events); worst case: every event decides; HTTP ingest through the real API."
        ),
    }


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings.dev")
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
