"""The webhook channel's batch sender (``realtime.delivery.http_batch``) against a real local
HTTP/1.1 server: every request once and signed, connections the server closes, timeouts,
refusals, status codes, the lease deadline, and a caller that is itself inside an event loop."""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from realtime.delivery import Message, backend_for
from realtime.delivery.http_batch import HttpRequest, requests_send
from realtime.delivery.webhook import webhook_signature


class Provider(ThreadingHTTPServer):
    """Records each request; ``status_for(key)`` picks the answer, ``delay`` slows it down, and
    every ``close_every``-th answer says ``Connection: close``."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProviderHandler)
        self.lock = threading.Lock()
        self.keys: Counter[str] = Counter()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        self.close_every = 0
        self.idle_timeout: float | None = None
        self.statuses: dict[str, int] = {}
        self.answered = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out and hang up are part of these tests."""


class ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Provider

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers.get("Idempotency-Key", "")
        with self.server.lock:
            self.server.keys[key] += 1
            self.server.requests.append((dict(self.headers.items()), body))
            self.server.answered += 1
            closing = bool(self.server.close_every) and (
                self.server.answered % self.server.close_every == 0
            )
        if self.server.delay:
            time.sleep(self.server.delay)
        status = self.server.statuses.get(key, 200)
        answer = b'{"id": "p-' + key.encode() + b'"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = Provider()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _messages(count: int, start: int = 0) -> list[Message]:
    return [
        Message(
            channel="webhook",
            key=str(n),
            customer_id=f"c-{n}",
            payload={"text": f"hello {n}", "html": "<b>é</b>"},
            metadata={"offer": "gift"},
        )
        for n in range(start, start + count)
    ]


def test_a_batch_posts_every_message_once_signed(provider: Provider, channels: Any) -> None:
    channels(webhook=provider.url)
    backend = backend_for("webhook")

    results = backend.send_many(_messages(300))

    assert all(result.is_sent for result in results)
    assert len(provider.keys) == 300 and set(provider.keys.values()) == {1}
    secret = str(backend.options["SECRET"])  # type: ignore[attr-defined]
    for headers, body in provider.requests:
        expected = webhook_signature(secret, headers["X-CDP-Timestamp"], body)
        assert hmac.compare_digest(headers["X-CDP-Signature"], expected)
        sent = json.loads(body)
        key = headers["Idempotency-Key"]
        assert sent == {
            "delivery_id": key,
            "customer_id": f"c-{key}",
            "payload": {"text": f"hello {key}", "html": "<b>é</b>"},
            "offer": "gift",
        }


def test_connections_the_server_closes_are_replaced(provider: Provider, channels: Any) -> None:
    """``Connection: close`` mid-batch, and keep-alive connections the server dropped while idle
    between two batches (they fail on reuse and are retried once on a fresh connection)."""
    provider.close_every = 7
    provider.idle_timeout = 0.2
    channels(webhook=provider.url)
    backend = backend_for("webhook")

    first = backend.send_many(_messages(100))
    time.sleep(0.5)  # the server hangs up on every idle connection
    second = backend.send_many(_messages(100, start=100))

    assert all(result.is_sent for result in first + second)
    assert len(provider.keys) == 200 and set(provider.keys.values()) == {1}


def test_answers_are_sent_temporary_or_permanent(provider: Provider) -> None:
    provider.statuses = {"1": 500, "2": 429, "3": 400, "4": 404}
    requests = [
        HttpRequest("POST", provider.url, {"Idempotency-Key": str(n)}, b"{}") for n in range(6)
    ]

    results = requests_send(requests, concurrency=3, timeout=5, id_field="id")

    assert [result.is_sent for result in results] == [True, False, False, False, False, True]
    assert results[0].provider_message_id == "p-0"
    assert [results[n].is_temporary for n in (1, 2, 3, 4)] == [True, True, False, False]
    assert "HTTP 500" in results[1].error


def test_a_silent_provider_times_out_as_a_temporary_failure(provider: Provider) -> None:
    provider.delay = 2.0
    requests = [HttpRequest("POST", provider.url, {}, b"{}") for _ in range(4)]

    started = time.monotonic()
    results = requests_send(requests, concurrency=4, timeout=0.3)

    assert time.monotonic() - started < 1.5
    assert all(result.is_temporary and not result.is_sent for result in results)
    assert "TimeoutError" in results[0].error


def test_an_unreachable_provider_is_a_temporary_failure() -> None:
    requests = [HttpRequest("POST", "http://127.0.0.1:9/hook", {}, b"{}") for _ in range(3)]

    results = requests_send(requests, concurrency=2, timeout=1)

    assert all(result.is_temporary and not result.is_sent for result in results)


def test_bad_requests_fail_permanently_without_a_connection() -> None:
    results = requests_send(
        [
            HttpRequest("POST", "ftp://example.com/x", {}, b""),
            HttpRequest("POST", "http://127.0.0.1:9/x", {"X-Evil": "a\r\nInjected: 1"}, b""),
        ]
    )

    assert [result.is_sent or result.is_temporary for result in results] == [False, False]
    assert "line break" in results[1].error


def test_nothing_starts_after_the_deadline(provider: Provider, channels: Any) -> None:
    channels(webhook=provider.url)

    results = backend_for("webhook").send_many(_messages(20), deadline=time.monotonic() - 1)

    assert all(result.is_deferred and not result.is_sent for result in results)
    assert not provider.keys


def test_called_from_inside_an_event_loop_it_sends_on_threads(
    provider: Provider, channels: Any
) -> None:
    channels(webhook=provider.url)
    backend = backend_for("webhook")

    async def from_async_code() -> list[Any]:
        return backend.send_many(_messages(30))

    results = asyncio.run(from_async_code())

    assert all(result.is_sent for result in results)
    assert len(provider.keys) == 30


def test_an_answer_that_ends_with_the_connection_is_read_to_its_end() -> None:
    """HTTP/1.0 style: no Content-Length, no chunks; the body is whatever came before EOF."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(3):
            connection, _ = listener.accept()
            with connection:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(65536)
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
                connection.sendall(b'{"id": "eof-1"}')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    requests = [HttpRequest("POST", f"http://127.0.0.1:{port}/", {}, b"") for _ in range(3)]

    results = requests_send(requests, concurrency=1, timeout=5, id_field="id")

    thread.join(5)
    listener.close()
    assert [(result.is_sent, result.provider_message_id) for result in results] == [
        (True, "eof-1")
    ] * 3
