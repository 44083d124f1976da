"""Deliveries per second through the webhook channel, with none sent twice.

N decisions (offer by webhook, no coupon) are written to PostgreSQL, as the engine commits them.
With ``manage.py run_dispatcher`` and the Celery workers already running and idle, as in
production, the decisions are appended to the decisions stream at once (a burst) and the clock
starts: the dispatcher turns them into delivery rows (one INSERT per read) and Celery tasks of
``CDP_DELIVERY_BATCH`` deliveries; a worker thread claims each batch with one check-and-set
transaction, renders and POSTs them over ``CDP_WEBHOOK_CONCURRENCY`` keep-alive connections
driven by an event loop (``realtime/delivery/http_batch.py``), and records the results with one
statement. A local server (``bench/_webhook_sink.py``) counts requests per ``Idempotency-Key``;
the clock stops at the last new one it received (decisions in → provider received).

The figures also say where the CPU went, per delivery: the sink, the Celery workers, the
dispatcher, PostgreSQL (this database's backends; its background processes apart) and Redis.

``CDP_BENCH_POOL`` / ``CDP_BENCH_CONCURRENCY`` / ``CDP_BENCH_WORKERS`` / ``CDP_BENCH_BATCH`` /
``CDP_BENCH_PREFETCH`` / ``CDP_BENCH_WEBHOOK_CONCURRENCY`` compare other worker set-ups.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import redis

from cdp_site import platform

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# The deployment measured (the Procfile's two worker lines: two processes of the threads pool,
# 4 threads each); overridable to compare others. Measured here (20,000 deliveries, median of 3
# interleaved runs, other work on the machine): threads 2 x 4 4,229/s, threads 2 x 8 3,410/s,
# prefork --concurrency 2 (two child processes) 3,287/s.
WORKERS = int(os.environ.get("CDP_BENCH_WORKERS", "2"))
POOL = os.environ.get("CDP_BENCH_POOL", "threads")
CONCURRENCY = int(os.environ.get("CDP_BENCH_CONCURRENCY", "4"))
PREFETCH = int(os.environ.get("CDP_BENCH_PREFETCH", "2"))
BATCH = os.environ.get("CDP_BENCH_BATCH", "250")
WEBHOOK_CONCURRENCY = os.environ.get("CDP_BENCH_WEBHOOK_CONCURRENCY", "16")

SEED = """
import sys, uuid, django; django.setup()
from django.contrib.auth import get_user_model
from django.utils import timezone
from campaigns.models import Campaign, Decision, Offer
run_id, count = sys.argv[1], int(sys.argv[2])
user, _ = get_user_model().objects.get_or_create(username="bench-delivery")
campaign = Campaign.objects.create(name=f"bench {run_id}", owner=user)
Offer.objects.create(slug=f"bench-{run_id}", name="bench", per_customer_limit=1,
                     webhook_payload={"text": "hello {{ customer.id }}"})
now = timezone.now()
action = [{"offer": f"bench-{run_id}", "channel": "webhook"}]
decisions = [Decision(id=uuid.uuid4(), campaign=campaign, version=1, customer_id=f"{run_id}-{n}",
             trigger_event_id=f"{run_id}-{n}", outcome="offer", actions=action, occurred_at=now)
             for n in range(count)]
Decision.objects.bulk_create(decisions, batch_size=5000)
# What autovacuum does in production (it may be off on a development server): earlier runs'
# deleted rows would otherwise fill the indexes the claim and the limit check read.
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("VACUUM ANALYZE campaigns_delivery, campaigns_decision, campaigns_coupon")
with open(sys.argv[3], "w") as out:
    out.write(" ".join(str(decision.id) for decision in decisions))
print(campaign.id)
"""

COUNT_SQL = """
import sys, json, django; django.setup()
from django.db.models import Count
from campaigns.models import Delivery
rows = Delivery.objects.filter(campaign_id=int(sys.argv[1])).values_list("status")
print(json.dumps(dict(rows.annotate(n=Count("id")).order_by())))
"""

CLEANUP = """
import sys, django; django.setup()
from campaigns.models import Campaign, Offer
Campaign.objects.filter(pk=int(sys.argv[1])).delete()
Offer.objects.filter(slug=f"bench-{sys.argv[2]}").delete()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _worker_command(queue: str, hostname: str) -> list[str]:
    return [
        PYTHON,
        "-m",
        "celery",
        "-A",
        "cdp_site",
        "worker",
        "--pool",
        POOL,
        "--concurrency",
        str(CONCURRENCY),
        "--prefetch-multiplier",
        str(PREFETCH),
        "--queues",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",  # the "ready." line tells us the worker is up
        "--hostname",
        hostname,
    ]


def _wait_for_workers(logs: list[Path], timeout_s: float = 60) -> None:
    """The clock starts with the dispatcher, once every worker is ready to take tasks."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(b" ready." in log.read_bytes() for log in logs):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the Celery workers did not start; see {logs}")


def _wait_for_group(client: redis.Redis, stream: str, timeout_s: float = 60) -> None:
    """run_dispatcher is up once it has created its consumer group on the stream."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if client.xinfo_groups(stream):
                return
        except redis.ResponseError:
            pass  # no stream yet
        time.sleep(0.1)
    raise RuntimeError("run_dispatcher did not start")


_TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command line, CPU seconds so far) for every process we may read."""
    table: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
        table[int(entry.name)] = (int(fields[1]), command, cpu)
    return table


_BACKGROUND = ("checkpointer", "background writer", "walwriter", "autovacuum")


def _cpu_by_part(roots: dict[str, list[int]], database: str) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, per process, by each part: the given processes with their
    descendants, PostgreSQL's backends of this database, and its background processes."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    used: dict[str, dict[int, float]] = {}
    for part, pids in roots.items():
        found, todo = {}, list(pids)
        while todo:
            pid = todo.pop()
            if pid in table:
                found[pid] = table[pid][2]
            todo += children.get(pid, [])
        used[part] = found
    postgres = {pid: row for pid, row in table.items() if row[1].startswith("postgres: ")}
    used["postgresql"] = {
        pid: cpu for pid, (_, command, cpu) in postgres.items() if f" {database} " in command
    }
    # WAL writer, checkpointer, background writer: shared with every database on the server.
    used["postgresql_background"] = {
        pid: cpu
        for pid, (_, command, cpu) in postgres.items()
        if any(name in command for name in _BACKGROUND)
    }
    return used


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots (a process that started in between counts from 0; one
    that ended in between is not seen)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        return json.loads(response.read())


def run(*, quick: bool) -> dict[str, Any]:
    count = 5_000 if quick else 20_000
    run_id = uuid.uuid4().hex[:8]
    prefix = f"bench-delivery-{run_id}:"
    queue = f"bench-delivery-{run_id}"
    processes: list[subprocess.Popen[bytes]] = []
    with platform.servers() as environment:
        sink_port = _free_port()
        environment = {
            **environment,
            "DJANGO_SETTINGS_MODULE": "cdp_site.settings.dev",
            "CDP_KEY_PREFIX": prefix,
            "CDP_CELERY_QUEUE": queue,
            "CDP_WEBHOOK_URL": f"http://127.0.0.1:{sink_port}/hook",
            "CDP_WEBHOOK_CONCURRENCY": WEBHOOK_CONCURRENCY,
            "CDP_DELIVERY_BATCH": BATCH,
            "CDP_LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        try:
            processes.append(
                subprocess.Popen([PYTHON, "bench/_webhook_sink.py", str(sink_port)], cwd=ROOT)
            )
            _wait_for_port(sink_port)
            decision_file = ROOT / ".data" / f"bench-delivery-{run_id}.ids"
            decision_file.parent.mkdir(exist_ok=True)
            seeded = subprocess.run(
                [PYTHON, "-c", SEED, run_id, str(count), str(decision_file)],
                cwd=ROOT,
                env=environment,
                check=True,
                capture_output=True,
                text=True,
            )
            campaign_id = int(seeded.stdout.strip().splitlines()[-1])
            logs = []
            for index in range(WORKERS):
                worker_log = ROOT / ".data" / f"bench-delivery-worker-{run_id}-{index}.log"
                worker_log.parent.mkdir(exist_ok=True)
                logs.append(worker_log)
                processes.append(
                    subprocess.Popen(
                        _worker_command(queue, f"bench-{run_id}-{index}@%h"),
                        cwd=ROOT,
                        env=environment,
                        stdout=worker_log.open("wb"),
                        stderr=subprocess.STDOUT,
                    )
                )
            processes.append(
                subprocess.Popen([PYTHON, "manage.py", "run_dispatcher"], cwd=ROOT, env=environment)
            )
            roots = {
                "sink": [processes[0].pid],
                "celery_workers": [process.pid for process in processes[1:-1]],
                "dispatcher": [processes[-1].pid],
            }
            database = environment["DATABASE_URL"].rsplit("/", 1)[-1].split("?")[0]
            _wait_for_workers(logs)
            client = redis.Redis.from_url(environment["REDIS_URL"])
            stream = f"{prefix}decisions"
            _wait_for_group(client, stream)
            # The engine's part: it appends each decision it committed (here all at once, a
            # burst). The clock runs from here to the last webhook the provider received.
            cpu_before = {**_cpu_by_part(roots, database), "redis": {0: _redis_cpu(client)}}
            started = time.monotonic()
            pipe = client.pipeline(transaction=False)
            for decision_id in decision_file.read_text().split():
                pipe.xadd(
                    stream, {"d": decision_id, "campaign": str(campaign_id), "outcome": "offer"}
                )
            pipe.execute()
            deadline = started + (120 if quick else 300)
            stats = _stats(sink_port)
            while stats["unique"] < count and time.monotonic() < deadline:
                time.sleep(0.05)
                stats = _stats(sink_port)
            elapsed = time.monotonic() - started
            if stats["unique"] >= count:
                elapsed = stats["last"] - started  # to the last request, not to our next poll
            cpu_after = {**_cpu_by_part(roots, database), "redis": {0: _redis_cpu(client)}}
            time.sleep(2)  # late duplicates would show up now
            stats = _stats(sink_port)
            statuses = json.loads(
                subprocess.run(
                    [PYTHON, "-c", COUNT_SQL, str(campaign_id)],
                    cwd=ROOT,
                    env=environment,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
        finally:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
        subprocess.run([PYTHON, "-c", CLEANUP, str(campaign_id), run_id], cwd=ROOT, env=environment)
        decision_file.unlink(missing_ok=True)
        if stats["unique"] == count and not stats["duplicates"]:
            for log in logs:  # kept only when something went wrong
                log.unlink(missing_ok=True)
        client = redis.Redis.from_url(environment["REDIS_URL"])
        for name in [*list(client.scan_iter(match=prefix + "*", count=1000)), queue]:
            client.delete(name)
    return {
        "figures": {
            "webhook_deliveries_per_s": round(stats["unique"] / elapsed, 1),
            "deliveries": stats["unique"],
            "duplicate_sends": stats["duplicates"],
            "deliveries_sent_in_postgresql": statuses.get("sent", 0),
            "deliveries_not_sent": count - statuses.get("sent", 0),
            "elapsed_s": round(elapsed, 2),
            # stream → dispatcher → Celery → worker → provider, for the first decision
            "first_delivery_after_s": round(stats["first"] - started, 3),
            # Where the two cores went, per delivery received (Redis and PostgreSQL's background
            # processes serve every database on the machine: other work there counts too).
            **{
                f"cpu_us_per_delivery_{part}": round(
                    _cpu_used(cpu_before[part], cpu_after[part]) / max(stats["unique"], 1) * 1e6
                )
                for part in cpu_before
            },
        },
        "config": (
            f"{WORKERS} worker(s) --pool {POOL} --concurrency {CONCURRENCY} --prefetch-multiplier "
            f"{PREFETCH}; CDP_DELIVERY_BATCH={BATCH}; CDP_WEBHOOK_CONCURRENCY={WEBHOOK_CONCURRENCY}"
        ),
        "units": {
            "webhook_deliveries_per_s": "1/s",
            "elapsed_s": "s",
            "first_delivery_after_s": "s",
            **{f"cpu_us_per_delivery_{part}": "µs" for part in cpu_before},
        },
        "goals": {
            "webhook_deliveries_per_s": ">= 2000",
            "duplicate_sends": "<= 0",
            "deliveries_not_sent": "<= 0",
        },
    }
