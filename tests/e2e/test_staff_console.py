"""A call-centre agent's staff console in real Chromium (scenario 2 as the agent sees it).

uvicorn serves ``cdp_site.asgi:application`` on the test database; the engine's side is played
by appending a ``notify_staff`` decision to the decisions stream, and the real ``run_dispatcher``
and a real Celery worker deliver it. The task must show up in the open page, without a reload,
within a second; "Done" marks it done in PostgreSQL, and it stays gone after a reload.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Decision, Delivery, StaffTask
from realtime.streams import key, redis_client

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Callable[[], object], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def platform(
    transactional_db: None, redis_key_prefix: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """uvicorn, run_dispatcher and a Celery worker on the test database and key prefix."""
    from django.db import connection

    database = connection.settings_dict
    credentials = database["USER"] + (
        f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    )
    queue = f"test-{redis_key_prefix.rstrip(':')}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cdp_site.settings.test",
        "DATABASE_URL": (
            f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CDP_KEY_PREFIX": redis_key_prefix,
        "CDP_CELERY_QUEUE": queue,
    }
    port = _free_port()
    commands = {
        "web": [
            "-m",
            "uvicorn",
            "cdp_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        "dispatcher": ["manage.py", "run_dispatcher"],
        "worker": [
            "-m",
            "celery",
            "-A",
            "cdp_site",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "1",
            "--queues",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"console-{uuid.uuid4().hex[:6]}@%h",
        ],
    }
    running = {
        name: subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=environment,
            stdout=(tmp_path / f"{name}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for name, command in commands.items()
    }

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    def logs() -> str:
        return "\n".join(
            f"--- {name}\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-3000:]}"
            for name in running
        )

    try:
        _wait(listening, 30, "uvicorn listening")
        yield {"base_url": f"http://127.0.0.1:{port}", "logs": logs}
    finally:
        for process in running.values():
            process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        redis_client().delete(queue)


def _decision_publish(campaign: Campaign, customer_id: str, team: str, message: str) -> Decision:
    """What the engine does: the decision row first, then its id on the decisions stream."""
    decision = Decision.objects.create(
        id=uuid.uuid4(),
        campaign=campaign,
        version=1,
        customer_id=customer_id,
        trigger_event_id=f"e-{uuid.uuid4().hex[:8]}",
        outcome="offer",
        actions=[{"notify_staff": {"team": team, "message": message}}],
        explanation=[{"kind": "trigger", "values": {"attributes": {"screen": "loan_step_3"}}}],
        occurred_at=timezone.now(),
    )
    redis_client().xadd(
        key("decisions"),
        {"d": str(decision.id), "campaign": str(campaign.id), "outcome": "offer"},
    )
    return decision


def test_call_centre_agent_sees_the_task_live_and_marks_it_done(
    platform: dict[str, Any], page: Any, make_user: Callable[..., Any]
) -> None:
    # given a call-centre agent with the console open (the socket is live)
    agent = make_user("marketer")
    campaign = Campaign.objects.create(name="Loan abandoned at step 3", owner=agent)
    client = Client()
    client.force_login(agent)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": platform["base_url"],
            }
        ]
    )
    # the dispatcher and the worker are up: a decision for another team went all the way
    warm_up = _decision_publish(campaign, "c-0", "tellers", "warm-up")
    _wait(
        lambda: Delivery.objects.filter(decision=warm_up, status="sent").exists(),
        60,
        f"warm-up delivery sent\n{platform['logs']()}",
    )
    page.goto(f"{platform['base_url']}/campaigns/console/call_centre/")
    page.get_by_test_id("connection").filter(has_text="live").wait_for()
    page.get_by_test_id("no-tasks").wait_for()

    # when the engine decides that the customer should be called back
    started = time.monotonic()
    _decision_publish(
        campaign, "c-42", "call_centre", "Call {{ customer.id }} back: stuck on {{ event.screen }}"
    )
    card = page.get_by_test_id("staff-task").filter(has_text="Call c-42 back: stuck on loan_step_3")
    card.wait_for(timeout=5_000)
    elapsed = time.monotonic() - started

    # then it appeared in the open page, without a reload, within a second
    print(f"\nstaff console: decision published → task on the page in {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0, f"the task took {elapsed:.2f} s"
    assert page.get_by_test_id("no-tasks").count() == 0
    task = StaffTask.objects.get(team="call_centre")
    assert (task.customer_id, task.is_done) == ("c-42", False)

    # when the agent clicks "Done"
    card.get_by_test_id("staff-task-done").click()

    # then the card goes, the task is done in the database, and a reload does not bring it back
    card.wait_for(state="detached")
    _wait(lambda: StaffTask.objects.get(pk=task.pk).is_done, 5, "task marked done")
    task.refresh_from_db()
    assert task.done_by_id == agent.id
    page.reload()
    page.get_by_test_id("connection").filter(has_text="live").wait_for()
    page.get_by_test_id("no-tasks").wait_for()
    assert page.get_by_test_id("staff-task").count() == 0
