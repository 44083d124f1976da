import time

import pytest

from realtime import streams


@pytest.mark.django_db
def test_healthz_names_the_engine_as_down_when_no_worker_reports(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["engine"]
    assert body["database"] == {"up": True}
    assert body["redis"] == {"up": True}


@pytest.mark.django_db
def test_healthz_is_ok_with_a_live_engine_worker(client):
    streams.redis_client().hset(streams.key("engine", "heartbeats"), "worker-1", time.time())
    response = client.get("/healthz")
    assert response.status_code == 200
    engine = response.json()["engine"]
    assert engine["up"] is True
    assert engine["workers"] == ["worker-1"]
