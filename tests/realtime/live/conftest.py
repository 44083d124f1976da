"""Live engine workers as real subprocesses (``manage.py run_engine``) against the test database
and this test's Redis key prefix, plus helpers that go through the public APIs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[3]
PARTITIONS = 4


def wait_until(condition: Callable[[], object], timeout: float = 15.0, step: float = 0.05) -> Any:
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition not met within {timeout:.1f} s")
        time.sleep(step)


class EngineProcesses:
    """Starts and stops ``run_engine`` subprocesses; all are stopped at the end of the test."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str | None = None, *extra: str) -> str:
        name = name or f"w{len(self.processes) + 1}-{uuid.uuid4().hex[:4]}"
        log = Path(f"/tmp/engine-{name}.log")
        self.logs[name] = log
        self.processes[name] = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_engine", "--worker-id", name, *extra],
            cwd=ROOT,
            env=self.environment,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        return name

    def wait_ready(self, partitions: int = PARTITIONS, timeout: float = 30.0) -> None:
        """Every partition owned by a live worker that has loaded the plan."""
        from realtime.live import keys
        from realtime.streams import redis_client

        client = redis_client()

        def ready() -> bool:
            leases = client.mget([keys.lease(p) for p in range(partitions)])
            return all(leases) and client.hlen(keys.partitions()) >= partitions

        wait_until(ready, timeout)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.processes[name].send_signal(sig)
        self.processes[name].wait(30)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.returncode not in (0, -signal.SIGKILL, -signal.SIGTERM):
                print(self.logs[name].read_text()[-3000:])


@pytest.fixture
def engine_processes(transactional_db: None, settings: Any, redis_key_prefix: str) -> Iterator:
    from django.db import connection

    settings.CDP_PARTITIONS = PARTITIONS
    database = connection.settings_dict
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cdp_site.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CDP_KEY_PREFIX": redis_key_prefix,
        "CDP_PARTITIONS": str(PARTITIONS),
    }
    if database.get("PASSWORD"):
        environment["DATABASE_URL"] = environment["DATABASE_URL"].replace(
            f"{database['USER']}@", f"{database['USER']}:{database['PASSWORD']}@"
        )
    processes = EngineProcesses(environment)
    yield processes
    processes.stop_all()


@pytest.fixture
def source_key(transactional_db: None) -> str:
    from realtime.demo import demo_event_types_ensure
    from realtime.ingest import services

    demo_event_types_ensure()
    _, key = services.source_create(name=f"tests {uuid.uuid4().hex[:6]}")
    return key


@pytest.fixture
def send(client: Any, source_key: str) -> Callable[..., list[str]]:
    """POST /api/v1/events with the source key; returns the accepted event ids."""

    def post(*events: dict[str, object]) -> list[str]:
        response = client.post(
            "/api/v1/events",
            data=orjson.dumps({"events": list(events)}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {source_key}",
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert not body["rejected"], body
        return body["event_ids"]

    return post


@pytest.fixture
def profile_put(api_as: Callable[..., Any]) -> Callable[[str, dict[str, object]], None]:
    """PUT /api/v1/customers/<id>: the profile in PostgreSQL, its Redis mirror and a
    ``profile_updated`` event on the customer's partition. Where the profile API is not in the
    tree, the same two Redis effects are written directly."""
    api = api_as("admin")

    def put(customer_id: str, traits: dict[str, object]) -> None:
        response = api.put(f"/api/v1/customers/{customer_id}", {"traits": traits}, format="json")
        if response.status_code != 404:
            assert response.status_code in (200, 201), response.content
            return
        from realtime import streams
        from realtime.engine.model import PROFILE_UPDATED

        client_ = streams.redis_client()
        existing = client_.get(streams.key("profile", customer_id))
        profile = {**(orjson.loads(existing) if existing else {}), **traits}
        client_.set(streams.key("profile", customer_id), orjson.dumps(profile))
        event = {
            "event_id": f"profile-{uuid.uuid4().hex}",
            "type": PROFILE_UPDATED,
            "customer_id": customer_id,
            "ts": time.time(),
            "attributes": traits,
        }
        client_.xadd(
            streams.event_stream_key(streams.partition_of(customer_id)),
            {"e": orjson.dumps(event)},
        )

    return put


@pytest.fixture
def campaign_live(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """Creates and publishes a campaign: through the campaign API when it is there, otherwise
    the same rows and notification its publish service writes."""

    def go_live(spec: dict[str, object]) -> Any:
        from campaigns.models import Campaign, CampaignStatus, CampaignVersion
        from realtime.live.reload import campaigns_changed_notify

        owner = make_user("marketer")
        campaign = Campaign.objects.create(
            name=str(spec["name"]), owner=owner, draft_spec=spec, status=CampaignStatus.DRAFT
        )
        version = CampaignVersion.objects.create(
            campaign=campaign, number=1, spec=spec, published_by=owner
        )
        campaign.live_version = version
        campaign.status = CampaignStatus.PUBLISHED
        campaign.save()
        campaigns_changed_notify()
        return campaign

    return go_live
