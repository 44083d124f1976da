"""Campaign dashboard: server time over millions of decisions, and event-to-screen latency.

``dashboard_ms_10m_decisions`` (the name the issue gives): N decisions (10 million; 1 million with
``--quick``, so a quick run is a smaller check than its name says) of one
campaign spread over 90 days, with 5 % converting, inserted with ``generate_series`` and rolled
up by the same incremental rollup the beat task runs (its time is reported too). Then the
campaign dashboard page (90 days, daily buckets, per-variant lift, live counters merged) is
requested through Django as an analyst; the figure is the median server time of 7 requests.

``live_update_p95_ms``: ``run_engine`` and uvicorn run as in ``make run``; a WebSocket client
holds the campaign's dashboard open; one event at a time is POSTed to ``/api/v1/events`` and the
clock stops when the pushed figures show it. p95 over 30 events.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from cdp_site import platform

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def run(*, quick: bool) -> dict[str, Any]:
    decisions = 1_000_000 if quick else 10_000_000
    run_id = uuid.uuid4().hex[:8]
    with platform.servers() as environment:
        environment = {
            **environment,
            "DJANGO_SETTINGS_MODULE": "cdp_site.settings.dev",
            "CDP_KEY_PREFIX": f"bench-dashboard-{run_id}:",
            "CDP_PARTITIONS": "4",
            "CDP_LOG_LEVEL": "WARNING",
        }
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        done = subprocess.run(
            [PYTHON, "bench/_dashboard_run.py", str(decisions), run_id],
            cwd=ROOT,
            env=environment,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "figures": figures,
        "units": {
            "dashboard_ms_10m_decisions": "ms",
            "dashboard_ms_max": "ms",
            "decisions": "rows",
            "rollup_initial_s": "s",
            "rollup_rows": "rows",
            "live_update_p95_ms": "ms",
            "live_update_median_ms": "ms",
        },
        "goals": {"dashboard_ms_10m_decisions": "<= 300", "live_update_p95_ms": "<= 1000"},
    }
