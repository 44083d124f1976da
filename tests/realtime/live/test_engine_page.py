"""The Engine page and /healthz show the live workers, partitions and dead letters."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from realtime import streams
from realtime.live import keys
from realtime.live.worker import Worker


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def running_worker(transactional_db, settings):
    settings.CDP_PARTITIONS = 4
    worker = Worker(partitions=4, worker_id="page-worker")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    wait_for(lambda: len(worker.runs) == 4)
    wait_for(lambda: streams.redis_client().hlen(keys.partitions()) == 4)
    yield worker
    worker.stop()
    thread.join(10)


def test_engine_page_shows_workers_partitions_and_dead_letters(client_as, running_worker):
    # given a poison event in the dead letters
    bad = {"event_id": "bad-1", "type": "x", "customer_id": "c9", "ts": 1.0, "attributes": {}}
    streams.redis_client().xadd(
        keys.dead_letters(),
        {"id": "1-0", "e": orjson.dumps(bad), "error": "ValueError: broken", "tries": 3},
    )
    client = client_as("marketer")
    # when
    page = client.get("/engine/")
    fragment = client.get("/engine/", HTTP_HX_REQUEST="true")
    # then
    assert page.status_code == 200
    html = page.content.decode()
    assert "page-worker" in html
    assert 'data-testid="engine-workers">1<' in html
    assert "ValueError: broken" in html and "bad-1" in html
    assert 'hx-trigger="every 2s"' in html
    assert fragment.status_code == 200
    assert "<nav" not in fragment.content.decode()
    assert "page-worker" in fragment.content.decode()


def test_engine_page_is_for_marketers_and_admins_only(client_as):
    assert client_as("analyst").get("/engine/").status_code == 403


def test_healthz_reports_engine_figures(client, running_worker):
    body = client.get("/healthz").json()
    engine = body["engine"]
    assert engine["up"] is True
    assert engine["workers"] == ["page-worker"]
    assert engine["partitions"] == 4 and engine["partitions_unowned"] == []
    for figure in ("lag", "events_per_s", "decisions_per_s", "timers_pending", "dead_letters"):
        assert figure in engine
