"""Many HTTP requests at once from synchronous code: keep-alive connections on an event loop.

A delivery worker sends a batch of a few hundred webhooks to one provider. Threads with one
blocking connection each (``http.client``) cost about 250 µs of CPU per request here, most of it
thread switches and the standard library's header handling; this sends the same requests over
``CONCURRENCY`` keep-alive connections driven by protocol callbacks on one event loop per thread
(uvloop when installed), with the response parsed by httptools (llhttp, as in Node.js): about
40 µs per request.

No coroutine per request: each connection, when its response is complete, writes the next
request of the batch itself. ``requests_send`` runs the loop until the whole batch is answered.

Semantics match ``base.http_request``: a connection the server closed while idle fails on reuse
before the server read anything; that request is retried once on a fresh connection (the
Idempotency-Key covers the rare case where the server did read it). Every other failure is a
temporary ``SendResult``, never an exception; a request not started before ``deadline``
(``time.monotonic()``) is deferred, not sent.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
import urllib.parse
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass

import httptools

from realtime.delivery.base import SendResult, http_result

try:  # pragma: no cover - uvloop is in requirements.txt; plain asyncio works the same
    import uvloop

    _new_loop = uvloop.new_event_loop
except ImportError:  # pragma: no cover
    _new_loop = asyncio.new_event_loop


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


class _Batch:
    """The requests of one call to one origin, handed out to connections in order."""

    def __init__(
        self, wire: list[bytes], results: list[SendResult | None], indexes: list[int]
    ) -> None:
        self.wire = wire  # request bytes, by position in ``indexes``
        self.results = results  # shared with the caller, by caller's index
        self.indexes = indexes
        self.next = 0
        self.retry: list[int] = []  # positions to send again on a fresh connection
        self.pending = len(indexes)
        self.deadline: float | None = None
        self.timeout = 5.0
        self.id_field = ""
        self.done: asyncio.Future[None] | None = None

    def take(self) -> int | None:
        if self.retry:
            return self.retry.pop()
        if self.next < len(self.wire):
            self.next += 1
            return self.next - 1
        return None

    def finish(self, position: int, result: SendResult) -> None:
        self.results[self.indexes[position]] = result
        self.pending -= 1
        if self.pending == 0 and self.done is not None and not self.done.done():
            self.done.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; sends one request at a time (no pipelining)."""

    def __init__(self, pool: _Origin) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.batch: _Batch | None = None
        self.position = -1
        self.is_reused = False
        self.received = False
        self.body: list[bytes] = []
        self.headers_done = False
        self.framed = False
        self.timer: asyncio.TimerHandle | None = None
        self.is_closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - we never ask for one
            self._fail(ConnectionError("unexpected protocol upgrade"))
        except httptools.HttpParserError as error:
            self._fail(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_closed = True
        self.pool.forget(self)
        if self.batch is not None and self.position >= 0:
            if exc is None and self.headers_done and not self.framed:
                # An answer without Content-Length or chunks ends where the connection does.
                self.on_message_complete()
                return
            error = exc or ConnectionResetError("the server closed the connection")
            self._fail(error, may_retry=self.is_reused and not self.received)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        batch, position = self.batch, self.position
        if batch is None or position < 0:
            return
        status = self.parser.get_status_code()
        keep_alive = self.parser.should_keep_alive()
        result = http_result(status, b"".join(self.body), None, batch.id_field)
        self._request_end()
        batch.finish(position, result)
        if not keep_alive or self.is_closed:
            self.close()
            self.pool.replace_for(batch)
            return
        self.is_reused = True
        self.serve(batch)

    # driving
    def serve(self, batch: _Batch) -> None:
        """Sends the batch's next request, or goes back to the idle pool when none is left."""
        self.batch = batch
        while True:
            position = batch.take()
            if position is None:
                self.batch = None
                self.pool.release(self)
                return
            if batch.deadline is not None and time.monotonic() > batch.deadline:
                batch.finish(position, SendResult.deferred())
                continue
            break
        self.position = position
        self.received = False
        self.headers_done = False
        self.framed = False
        self.body = []
        loop = self.pool.loop
        self.timer = loop.call_later(batch.timeout, self._timed_out)
        assert self.transport is not None
        self.transport.write(batch.wire[position])

    def _request_end(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.position = -1

    def _timed_out(self) -> None:
        self.timer = None
        self._fail(TimeoutError(f"no answer within {self.batch and self.batch.timeout} s"))

    def _fail(self, error: BaseException, *, may_retry: bool = False) -> None:
        batch, position = self.batch, self.position
        self._request_end()
        self.batch = None
        self.close()
        if batch is None or position < 0:
            return
        if may_retry:
            batch.retry.append(position)
        else:
            batch.finish(position, http_result(None, b"", error))  # type: ignore[arg-type]
        self.pool.replace_for(batch)

    def close(self) -> None:
        if not self.is_closed:
            self.is_closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.abort()


class _Origin:
    """Idle connections to one scheme://host:port, kept between batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop, parts: urllib.parse.SplitResult) -> None:
        self.loop = loop
        self.host = parts.hostname or ""
        self.is_tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.is_tls else 80)
        self.idle: list[_Connection] = []
        self.open = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.context = ssl.create_default_context() if self.is_tls else None

    def forget(self, connection: _Connection) -> None:
        if connection in self.idle:
            self.idle.remove(connection)

    def release(self, connection: _Connection) -> None:
        if not connection.is_closed:
            self.idle.append(connection)

    async def connect(self, timeout: float) -> _Connection:
        _, protocol = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: _Connection(self),
                self.host,
                self.port,
                ssl=self.context,
                server_hostname=self.host if self.is_tls else None,
            ),
            timeout,
        )
        return protocol

    def replace_for(self, batch: _Batch) -> None:
        """A connection of this batch closed: open another if requests are still waiting."""
        if batch.retry or batch.next < len(batch.wire):
            task = self.loop.create_task(self._join(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _join(self, batch: _Batch) -> None:
        try:
            connection = await self.connect(batch.timeout)
        except (OSError, TimeoutError, ssl.SSLError) as error:
            # Nothing reachable: what is still waiting fails now (temporary), not at the end.
            while (position := batch.take()) is not None:
                batch.finish(position, http_result(None, b"", error))  # type: ignore[arg-type]
            return
        connection.serve(batch)

    async def run(self, batch: _Batch, concurrency: int) -> None:
        batch.done = self.loop.create_future()
        if batch.pending == 0:
            return
        wanted = min(concurrency, len(batch.wire))
        ready = [connection for connection in self.idle[:wanted] if not connection.is_closed]
        del self.idle[: len(ready)]
        for connection in ready:
            connection.is_reused = True
            connection.serve(batch)
        for _ in range(wanted - len(ready)):
            self.replace_for(batch)
        await batch.done


_local = threading.local()


def _loop_state() -> tuple[asyncio.AbstractEventLoop, dict[tuple[str, str], _Origin]]:
    """This thread's loop and connection pools (new after a fork: never share a parent's)."""
    state = getattr(_local, "state", None)
    if state is None or state[0] != os.getpid():
        state = (os.getpid(), _new_loop(), {})
        _local.state = state
    return state[1], state[2]


def _wire(request: HttpRequest, parts: urllib.parse.SplitResult) -> bytes:
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    lines = [f"{request.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    for name, value in request.headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def can_run_here() -> bool:
    """False inside a running event loop (an async caller uses the blocking path instead)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


async def _all(runs: list[Coroutine[object, object, None]]) -> None:
    await asyncio.gather(*runs)


def requests_send(
    requests: Sequence[HttpRequest],
    *,
    concurrency: int = 16,
    timeout: float = 5.0,
    deadline: float | None = None,
    id_field: str = "",
) -> list[SendResult]:
    """Sends every request (up to ``concurrency`` at a time per origin); results in order."""
    results: list[SendResult | None] = [None] * len(requests)
    by_origin: dict[tuple[str, str], tuple[urllib.parse.SplitResult, _Batch]] = {}
    for index, request in enumerate(requests):
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            results[index] = SendResult.permanent(f"not an http(s) URL: {request.url!r}")
            continue
        try:
            wire = _wire(request, parts)
        except (ValueError, UnicodeEncodeError) as error:
            results[index] = SendResult.permanent(str(error))
            continue
        origin_key = (parts.scheme, parts.netloc)
        if origin_key not in by_origin:
            by_origin[origin_key] = (parts, _Batch([], results, []))
        batch = by_origin[origin_key][1]
        batch.wire.append(wire)
        batch.indexes.append(index)
    if by_origin:
        loop, origins = _loop_state()
        runs = []
        for origin_key, (parts, batch) in by_origin.items():
            batch.pending = len(batch.wire)
            batch.deadline = deadline
            batch.timeout = timeout
            batch.id_field = id_field
            origin = origins.get(origin_key)
            if origin is None:
                origin = origins[origin_key] = _Origin(loop, parts)
            runs.append(origin.run(batch, max(concurrency, 1)))
        loop.run_until_complete(_all(runs))
    return [
        result if result is not None else SendResult.temporary("no answer") for result in results
    ]
