"""The HTTP protocol of ``POST /api/v1/events``, shared by the Django view and the lean ASGI app.

``ingest_http`` holds every decision (key, size, rate limit, parse, validate, append, reply);
``realtime.api.ingest.events_ingest_view`` (Django) and ``IngestAsgiApp`` (below) only adapt
requests to it, so both paths answer byte for byte alike.

Why a lean ASGI app in front of Django for this one path: profiling one uvicorn worker showed
Django's per-request machinery costing about 2.9 ms of CPU per request even for a 1-event batch —
``ASGIHandler`` opens a ``ThreadSensitiveContext`` per request (a fresh executor thread the first
time anything hops to sync code) and sends ``request_started`` / ``request_finished`` through
``sync_to_async`` (their receivers are sync), and the body is spooled to a temporary file. At
batches of 500 that was a third of the worker's time. The ASGI app also refuses an oversize body
as soon as its Content-Length (or the bytes received) pass the limit, without reading the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import orjson

from realtime.ingest import services
from realtime.ingest.services import IngestError

PATH = "/api/v1/events"
CORS_HEADERS = {
    # Browser trackers post from the bank's own sites; keys for them are public by nature.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "86400",
}
TOO_LARGE = f"The body is larger than {services.MAX_BODY_BYTES} bytes; split the batch."

Reply = tuple[int, dict[str, str], bytes]


class BodyTooLarge(Exception):
    pass


def _reply(body: dict[str, object], status: int, **headers: str) -> Reply:
    return status, {**CORS_HEADERS, **headers}, orjson.dumps(body)


def request_key(authorization: str | None, query_string: str) -> str | None:
    """``Authorization: Bearer <key>``, or ``?key=`` for browsers (a header would need a CORS
    preflight on every page)."""
    if authorization and authorization.startswith("Bearer "):
        return authorization[7:].strip() or None
    if "key=" in query_string:
        return (parse_qs(query_string).get("key") or [None])[0]
    return None


async def ingest_http(
    *,
    method: str,
    authorization: str | None,
    query_string: str,
    content_length: str | None,
    read_body: Callable[[], Awaitable[bytes]],
) -> Reply:
    if method == "OPTIONS":
        return _reply({}, 204)
    if method != "POST":
        return _reply({"error": "Use POST."}, 405, Allow="POST, OPTIONS")
    key = request_key(authorization, query_string)
    if key is None:
        error = "An API key is required: Authorization: Bearer <key>."
        return _reply({"error": error}, 401, **{"WWW-Authenticate": "Bearer"})
    source = await services.source_authenticate(key)
    if source is None:
        error = "The API key is unknown or revoked."
        return _reply({"error": error}, 401, **{"WWW-Authenticate": "Bearer"})
    try:
        length = int(content_length or 0)
    except ValueError:
        return _reply({"error": "Content-Length is not a number."}, 400)
    if length > services.MAX_BODY_BYTES:
        return _reply({"error": TOO_LARGE}, 413, Connection="close")
    if not await services.source_rate_limit_allows(source):
        error = f"Rate limit of {source.rate_limit_per_second} requests/s exceeded."
        return _reply({"error": error}, 429, **{"Retry-After": "1"})
    try:
        body = await read_body()
    except BodyTooLarge:
        return _reply({"error": TOO_LARGE}, 413, Connection="close")
    try:
        result = await services.events_ingest(body=body)
    except IngestError as error:
        return _reply(error.to_dict(), error.status)
    return _reply(result.to_dict(), 200)


class IngestAsgiApp:
    """Serves ``/api/v1/events`` directly; every other request goes to ``fallback`` (Django)."""

    def __init__(self, fallback: Callable[..., Awaitable[None]]) -> None:
        self.fallback = fallback

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.fallback(scope, receive, send)
            return
        headers = {name: value for name, value in scope["headers"]}

        async def read_body() -> bytes:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise BodyTooLarge  # nobody is listening any more; answer nothing useful
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > services.MAX_BODY_BYTES:
                    raise BodyTooLarge
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)

        authorization = headers.get(b"authorization")
        content_length = headers.get(b"content-length")
        status, reply_headers, body = await ingest_http(
            method=scope["method"],
            authorization=authorization.decode("latin-1") if authorization else None,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            content_length=content_length.decode("latin-1") if content_length else None,
            read_body=read_body,
        )
        encoded = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        encoded += [
            (name.lower().encode(), value.encode()) for name, value in reply_headers.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": encoded})
        await send({"type": "http.response.body", "body": body})
