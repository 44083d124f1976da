"""ws /ws/events and the ingest endpoint through a real uvicorn, real PostgreSQL and Redis."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from typing import Any

import orjson
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime import streams
from realtime.demo import demo_event_types_ensure
from realtime.ingest import services


@pytest.fixture
def source_key(transactional_db: None) -> str:
    demo_event_types_ensure()
    return services.source_create(name="sdk")[1]


def ws_url(server: str, key: str | None = None) -> str:
    url = server.replace("http://", "ws://") + "/ws/events"
    return url + (f"?key={key}" if key else "")


def screen(event_id: str, customer_id: str = "C1", **attributes: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "screen_view",
        "customer_id": customer_id,
        "attributes": attributes or {"screen": "home"},
    }


def test_websocket_acknowledges_each_event_with_its_id_or_error(
    asgi_server: str, source_key: str
) -> None:
    with connect(
        ws_url(asgi_server),
        origin=asgi_server,
        additional_headers={"Authorization": f"Bearer {source_key}"},
    ) as socket:
        socket.send(orjson.dumps(screen("w1")).decode())
        assert orjson.loads(socket.recv(timeout=10)) == {"event_id": "w1", "status": "accepted"}
        socket.send(orjson.dumps(screen("w1")).decode())
        assert orjson.loads(socket.recv(timeout=10)) == {"event_id": "w1", "status": "duplicate"}
        socket.send(orjson.dumps(screen("w2", screen=7)).decode())
        rejected = orjson.loads(socket.recv(timeout=10))
        assert (rejected["status"], rejected["field"]) == ("rejected", "attributes.screen")
        socket.send(orjson.dumps([screen("w3"), {"type": "nope"}, screen("w4")]).decode())
        acks = orjson.loads(socket.recv(timeout=10))["acks"]
        assert [ack["status"] for ack in acks] == ["accepted", "rejected", "accepted"]
        assert acks[1]["field"] == "type"
        socket.send(b"\xff{not json")
        assert orjson.loads(socket.recv(timeout=10))["status"] == "rejected"
        socket.send(orjson.dumps(screen("w5")).decode())  # still serving
        assert orjson.loads(socket.recv(timeout=10))["status"] == "accepted"
    stream = streams.event_stream_key(streams.partition_of("C1"))
    stored = [
        streams.decode_event(fields[b"e"])["event_id"]
        for _, fields in streams.redis_client().xrange(stream)
    ]
    assert stored == ["w1", "w3", "w4", "w5"]


def test_websocket_refuses_unknown_and_revoked_keys(asgi_server: str, source_key: str) -> None:
    with pytest.raises(InvalidStatus):
        connect(ws_url(asgi_server, "cdpk_unknown"), origin=asgi_server)
    from realtime.models import Source

    services.source_revoke(source=Source.objects.get())
    import time

    time.sleep(0.5)  # the server's key cache lives 0.2 s in this test
    with pytest.raises(InvalidStatus):
        connect(ws_url(asgi_server, source_key), origin=asgi_server)


def http_post(url: str, body: bytes, key: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())


def test_http_ingest_through_uvicorn_refuses_an_oversize_body_before_reading_it(
    asgi_server: str, source_key: str
) -> None:
    url = asgi_server + "/api/v1/events"
    status, answer = http_post(url, orjson.dumps([screen("h1")]), source_key)
    assert (status, answer["accepted"]) == (200, 1)
    # given a request announcing 10 MB, of which we send nothing yet
    port = int(asgi_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {source_key}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n"
        )
        # then the answer comes at once (and the server closes the connection)
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"larger than 1048576 bytes" in reply
    # and the server goes on serving
    status, answer = http_post(url, orjson.dumps([screen("h2")]), source_key)
    assert (status, answer["accepted"]) == (200, 1)


def test_explorer_socket_refuses_anonymous_visitors(asgi_server: str) -> None:
    url = asgi_server.replace("http://", "ws://") + "/ws/explorer"
    with pytest.raises(InvalidStatus):
        connect(url, origin=asgi_server)


def test_sdk_without_an_origin_header_streams_events(asgi_server: str, source_key: str) -> None:
    # given an SDK (not a browser): no Origin header, only its key
    with connect(
        ws_url(asgi_server), additional_headers={"Authorization": f"Bearer {source_key}"}
    ) as socket:
        # when / then
        socket.send(orjson.dumps(screen("sdk-1")).decode())
        assert orjson.loads(socket.recv(timeout=10)) == {"event_id": "sdk-1", "status": "accepted"}


def test_browser_socket_from_another_site_is_refused(asgi_server: str) -> None:
    url = asgi_server.replace("http://", "ws://") + "/ws/explorer"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="http://evil.example")
    assert refused.value.response.status_code == 403
