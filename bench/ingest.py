"""HTTP batch ingest into Redis Streams, and the archive copying it into PostgreSQL.

One uvicorn worker process serves ``POST /api/v1/events``; a load generator in another process
(``bench/_ingest_load.py``, asyncio over keep-alive sockets, 8 connections) posts batches of 500
valid events with unique ids. Then ``manage.py run_archiver`` drains the streams into
PostgreSQL on its own, and we report its rate. Servers: ``DATABASE_URL`` / ``REDIS_URL`` when
set, else the embedded PostgreSQL and Redis (AOF on) of ``make run``. Everything the benchmark
writes is under its own Redis key prefix and event-id prefix, and removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from cdp_site import platform

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BATCH_SIZE = 500

SEED = """
import django; django.setup()
from realtime.demo import demo_event_types_ensure
from realtime.ingest.services import source_create
demo_event_types_ensure()
print(source_create(name="bench", rate_limit_per_second=100000)[1])
"""

CLEANUP = """
import sys, django; django.setup()
from django.db import connection
from realtime.models import Source
run_id = sys.argv[1]
with connection.cursor() as cursor:
    cursor.execute("DELETE FROM realtime_event_archive WHERE event_id LIKE %s", [run_id + "%"])
Source.objects.filter(name="bench").delete()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _stream_total(environment: dict[str, str], prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(environment["REDIS_URL"])
    return sum(client.xlen(f"{prefix}events:{partition}") for partition in range(16))


def _delete_prefix(environment: dict[str, str], prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(environment["REDIS_URL"])
    batch = []
    for name in client.scan_iter(match=prefix + "*", count=5000):
        batch.append(name)
        if len(batch) >= 5000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def _load(
    environment: dict[str, str], key: str, batches: int, run_id: str
) -> tuple[dict[str, Any], float]:
    """Starts one uvicorn worker, runs the load generator against it; (figures, server CPU s)."""
    port = _free_port()
    server = subprocess.Popen(
        [
            *(PYTHON, "-m", "uvicorn", "cdp_site.asgi:application", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=environment,
    )
    try:
        _wait_for_port(port)
        server_process = psutil.Process(server.pid)
        cpu_before = server_process.cpu_times()
        load = subprocess.run(
            [
                *(PYTHON, "-m", "bench._ingest_load", "--port", str(port), "--key", key),
                *("--batches", str(batches), "--batch-size", str(BATCH_SIZE)),
                *("--connections", "8", "--run-id", run_id),
            ],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        cpu_after = server_process.cpu_times()
    finally:
        server.terminate()
        server.wait(timeout=30)
    cpu = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    return json.loads(load.stdout.strip().splitlines()[-1]), cpu


ARCHIVER = [PYTHON, "manage.py", "run_archiver", "--stop-when-idle", "2", "--skip-checks"]


def _archived(output: str) -> tuple[int, float]:
    match = re.search(r"archived (\d+) rows in ([\d.]+) s", output)
    return (int(match[1]), float(match[2])) if match else (0, 0.0)


def run(*, quick: bool) -> dict[str, Any]:
    batches = 200 if quick else 1600
    run_id = f"bench{uuid.uuid4().hex[:8]}"
    prefix = f"cdp-bench-{run_id}:"
    concurrent: dict[str, float] = {}
    with platform.servers() as environment:
        environment = {
            **environment,
            "DJANGO_SETTINGS_MODULE": "cdp_site.settings.dev",
            "CDP_KEY_PREFIX": prefix,
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0", "--skip-checks"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        seeded = subprocess.run(
            [PYTHON, "-c", SEED],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        key = seeded.stdout.strip().splitlines()[-1]
        try:
            # 1. HTTP ingest alone: one web worker, the load generator in its own process.
            figures, server_cpu_s = _load(environment, key, batches, run_id)
            in_streams = _stream_total(environment, prefix)
            # 2. The archive alone, draining what phase 1 appended.
            archiver = subprocess.run(
                ARCHIVER, cwd=ROOT, env=environment, check=True, capture_output=True, text=True
            )
            archived, archive_seconds = _archived(archiver.stdout)
            if not quick:
                # 3. Both at once, as in production: does the archive keep up?
                running = subprocess.Popen(
                    ARCHIVER, cwd=ROOT, env=environment, stdout=subprocess.PIPE, text=True
                )
                together, _ = _load(environment, key, batches, run_id + "b")
                load_done = time.monotonic()
                output, _ = running.communicate(timeout=600)
                archived_together, _ = _archived(output)
                concurrent = {
                    "concurrent_http_ingest_events_per_s": round(together["events_per_s"], 1),
                    "concurrent_archive_lag_s": round(
                        max(0.0, time.monotonic() - 2 - load_done), 2
                    ),
                    "concurrent_events_missing_from_archive": (
                        _stream_total(environment, prefix) - in_streams - archived_together
                    ),
                }
        finally:
            subprocess.run([PYTHON, "-c", CLEANUP, run_id], cwd=ROOT, env=environment, check=True)
            _delete_prefix(environment, prefix)
    expected = figures["events"] + 4 * BATCH_SIZE  # plus the warm-up batches
    units = {
        "http_ingest_events_per_s": "events/s",
        "http_ingest_p50_ms": "ms",
        "http_ingest_p99_ms": "ms",
        "archive_rows_per_s": "rows/s",
        "web_worker_cpu_us_per_event": "µs CPU",
        "events_sent": "events",
        "request_failures": "requests",
        "events_missing_from_streams": "events",
        "events_missing_from_archive": "events",
        "concurrent_http_ingest_events_per_s": "events/s",
        "concurrent_archive_lag_s": "s",
        "concurrent_events_missing_from_archive": "events",
    }
    figures_out = {
        "http_ingest_events_per_s": round(figures["events_per_s"], 1),
        "http_ingest_p50_ms": round(figures["p50_ms"], 2),
        "http_ingest_p99_ms": round(figures["p99_ms"], 2),
        "archive_rows_per_s": round(archived / archive_seconds, 1) if archive_seconds else 0.0,
        "web_worker_cpu_us_per_event": round(1e6 * server_cpu_s / expected, 2),
        "events_sent": figures["events"],
        "request_failures": figures["failures"],
        "events_missing_from_streams": expected - in_streams,
        "events_missing_from_archive": in_streams - archived,
        **concurrent,
    }
    return {
        "figures": figures_out,
        "units": {name: unit for name, unit in units.items() if name in figures_out},
        "goals": {
            "http_ingest_events_per_s": ">= 50000",
            "archive_rows_per_s": ">= 50000",
            "request_failures": "<= 0",
            "events_missing_from_streams": "<= 0",
            "events_missing_from_archive": "<= 0",
            **({"concurrent_events_missing_from_archive": "<= 0"} if concurrent else {}),
        },
        "notes": (
            "1 uvicorn worker; load generator in a separate process, 8 keep-alive connections, "
            f"batches of {BATCH_SIZE}; archive measured draining the backlog alone, then (full "
            "run) ingest and archiver together. web_worker_cpu_us_per_event is the worker's own "
            "CPU time, which machine load does not inflate much. Redis AOF: "
            f"{'embedded, on' if not os.environ.get('REDIS_URL') else 'as configured'}."
        ),
        "first_failure": figures.get("first_failure"),
    }
