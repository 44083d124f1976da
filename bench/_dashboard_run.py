"""The dashboard benchmark's body, in its own process (``bench/dashboard.py`` starts it)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
django.setup()

import orjson  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from campaigns.dashboards import selectors, services  # noqa: E402
from campaigns.dashboards.models import CampaignRollup  # noqa: E402
from campaigns.models import Campaign, CampaignStatus, CampaignVersion  # noqa: E402
from cdp_site.demo import role_groups_ensure  # noqa: E402
from cdp_site.roles import Role  # noqa: E402
from realtime.demo import demo_event_types_ensure  # noqa: E402
from realtime.ingest import services as ingest_services  # noqa: E402
from realtime.live import keys  # noqa: E402
from realtime.live.reload import campaigns_changed_notify  # noqa: E402
from realtime.streams import redis_client  # noqa: E402

SPEC = {
    "spec": 1,
    "name": "bench dashboard",
    "trigger": {"event": "product_view"},
    "actions": [{"notify_staff": {"team": "bench", "message": "bench"}}],
    "guards": {"holdout": 0.1},
    "goal": {"event": "product_subscribed", "within": "1d"},
}


def seed(count: int, run_id: str) -> tuple[Campaign, object]:
    user_model = get_user_model()
    owner, _ = user_model.objects.get_or_create(username=f"bench-dashboard-{run_id}")
    owner.groups.add(role_groups_ensure()[Role.ANALYST])
    campaign = Campaign.objects.create(
        name=f"bench dashboard {run_id}", owner=owner, draft_spec=SPEC
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_decision (id, campaign_id, version, customer_id, "
            "trigger_event_id, outcome, suppression_reason, variant, actions, explanation, "
            "occurred_at, decided_at) "
            "SELECT gen_random_uuid(), %s, 1, 'c' || (g %% 200000), 'e' || g, "
            "CASE WHEN g %% 10 = 0 THEN 'held_out' WHEN g %% 17 = 0 THEN 'suppressed' "
            "ELSE 'offer' END, CASE WHEN g %% 17 = 0 AND g %% 10 <> 0 THEN 'cap' ELSE '' END, "
            "CASE WHEN g %% 2 = 0 THEN 'A' ELSE 'B' END, '[]', '[]', "
            "now() - (g * interval '89 days' / %s), clock_timestamp() "
            "FROM generate_series(1, %s) g",
            [campaign.id, count, count],
        )
        cursor.execute(
            "INSERT INTO campaigns_conversion (decision_id, campaign_id, customer_id, event_id, "
            "revenue, occurred_at) SELECT id, campaign_id, customer_id, 'goal-' || id, 10000, "
            "occurred_at + interval '1 hour' FROM campaigns_decision "
            "WHERE campaign_id = %s AND outcome <> 'suppressed' "
            "AND ('x' || substr(md5(id::text), 1, 6))::bit(24)::int %% 100 < "
            "CASE WHEN outcome = 'offer' THEN 6 ELSE 4 END",
            [campaign.id],
        )
    return campaign, owner


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.1)


def live_latencies(campaign: Campaign, owner: object, events: int) -> list[float]:
    demo_event_types_ensure()
    _, source_key = ingest_services.source_create(name=f"bench dashboard {campaign.id}")
    campaign.live_version = CampaignVersion.objects.create(
        campaign=campaign, number=1, spec=SPEC, published_by=owner
    )
    campaign.status = CampaignStatus.PUBLISHED
    campaign.save()
    campaigns_changed_notify()
    port = free_port()
    environment = dict(os.environ)
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_engine", "--worker-id", "bench-dashboard"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "cdp_site.asgi:application",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environment,
        ),
    ]
    client = redis_client()
    try:
        version = int(client.get(keys.campaigns_version()) or 0)

        def ready() -> bool:
            workers = [orjson.loads(v) for v in client.hvals(keys.workers())]
            return bool(workers) and all(w["plan_version"] >= version for w in workers)

        wait(ready)
        wait(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
        browser = Client()
        browser.force_login(owner)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        return asyncio.run(_measure(port, campaign.id, source_key, cookie, events))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(15)


def _post(port: int, source_key: str, event: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/events",
        data=orjson.dumps({"events": [event]}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {source_key}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


async def _measure(
    port: int, campaign_id: int, source_key: str, cookie: str, events: int
) -> list[float]:
    url = f"ws://127.0.0.1:{port}/ws/campaigns/{campaign_id}/dashboard?range=1h"
    latencies = []
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}
    ) as socket_:
        figures = orjson.loads(await socket_.recv())["figures"]
        seen = figures["totals"]["triggered"]
        for n in range(events):
            started = time.monotonic()
            await asyncio.to_thread(
                _post,
                port,
                source_key,
                {
                    "type": "product_view",
                    "customer_id": f"live-{n}",
                    "attributes": {"category": "loan"},
                },
            )
            while True:
                message = orjson.loads(await asyncio.wait_for(socket_.recv(), timeout=10))
                if message.get("type") == "figures":
                    now_seen = message["figures"]["totals"]["triggered"]
                    if now_seen > seen:
                        seen = now_seen
                        break
            latencies.append((time.monotonic() - started) * 1000)
            await asyncio.sleep(0.2)
    return latencies


def main() -> None:
    count, run_id = int(sys.argv[1]), sys.argv[2]
    campaign, owner = seed(count, run_id)
    started = time.monotonic()
    services.rollup_refresh(lag_s=0, reconcile=False)
    services.rollup_refresh(lag_s=0, reconcile=False)
    rollup_s = time.monotonic() - started
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(owner)
    timings = []
    for _ in range(7):
        started = time.monotonic()
        response = browser.get(f"/campaigns/dashboards/{campaign.id}/?range=90d")
        timings.append((time.monotonic() - started) * 1000)
        assert response.status_code == 200, response.status_code
    figures = selectors.campaign_figures(
        campaign=campaign, range_=selectors.range_parse("90d"), live=False
    )
    assert figures["totals"]["triggered"] == count, figures["totals"]["triggered"]
    latencies = live_latencies(campaign, owner, 30)
    ordered = sorted(latencies)
    print(
        json.dumps(
            {
                "dashboard_ms_10m_decisions": round(statistics.median(timings), 1),
                "dashboard_ms_max": round(max(timings), 1),
                "decisions": count,
                "rollup_initial_s": round(rollup_s, 1),
                "rollup_rows": CampaignRollup.objects.filter(campaign=campaign).count(),
                "live_update_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
                "live_update_median_ms": round(statistics.median(latencies), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
