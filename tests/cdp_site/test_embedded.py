"""The fresh-machine promise: real PostgreSQL and Redis from the wheels, stopped cleanly."""

import psycopg
import redis

from cdp_site import embedded


def test_embedded_servers_start_serve_and_stop_leaving_no_process(tmp_path, monkeypatch):
    # given an empty data folder and no configured servers
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path / "data"))
    # when
    postgres = embedded.postgres_start(preferred_port=0)
    redis_server = embedded.redis_start(preferred_port=0)
    try:
        # then both answer on their URLs
        with psycopg.connect(postgres.url) as connection:
            assert connection.execute("SELECT current_database()").fetchone() == ("cdp",)
        client = redis.Redis.from_url(redis_server.url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        postmaster_pid = int((postgres.pgdata / "postmaster.pid").read_text().split()[0])
    finally:
        embedded.redis_stop(redis_server)
        embedded.postgres_stop(postgres)
    # and nothing is left running
    assert not embedded._process_is_alive(redis_server.pid)
    assert not embedded._process_is_alive(postmaster_pid)
