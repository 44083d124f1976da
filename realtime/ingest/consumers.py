"""WebSocket entry points of event collection.

``EventIngestConsumer`` (``ws /ws/events``): SDKs that stream events. Authenticated by a source
key (``Authorization: Bearer`` header or ``?key=``); each message is one event object or a list
of them; each gets an acknowledgement, sent after Redis acknowledged the append:
``{"event_id": "...", "status": "accepted" | "duplicate"}`` or
``{"index": i, "status": "rejected", "field": "...", "error": "..."}``.

``EventExplorerConsumer`` (``ws /ws/explorer``): the live event explorer page. It tails the
partition streams itself (XREAD, no consumer group, nothing acknowledged) rather than listening
on the at-most-once channel layer, filters by type and customer on the server, and sends at
most a few hundred events a second with the count of what it skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import parse_qs

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from cdp_site.roles import Role, user_has_role
from realtime import streams
from realtime.ingest import services
from realtime.ingest.services import IngestError, SourceIdentity

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


def _scope_key(scope: dict) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value.startswith(b"Bearer "):
            return value[7:].decode("latin-1").strip() or None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("key") or [None])[0]


class EventIngestConsumer(AsyncWebsocketConsumer):
    source: SourceIdentity | None = None

    async def connect(self) -> None:
        key = _scope_key(self.scope)
        self.source = await services.source_authenticate(key) if key else None
        if self.source is None:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert self.source is not None
        body = bytes_data if bytes_data is not None else (text_data or "").encode()
        if not await services.source_rate_limit_allows(self.source):
            await self._send({"status": "rejected", "error": "rate limit exceeded; slow down"})
            return
        try:
            if len(body) > services.MAX_BODY_BYTES:
                raise IngestError(413, f"a message holds at most {services.MAX_BODY_BYTES} bytes")
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError as error:
                raise IngestError(400, f"not valid JSON: {error}") from None
            single = type(parsed) is dict
            events = [parsed] if single else parsed
            if type(events) is not list or not events:
                raise IngestError(400, "send one event object or a non-empty list of them")
            if len(events) > services.MAX_BATCH_EVENTS:
                raise IngestError(413, f"at most {services.MAX_BATCH_EVENTS} events per message")
            acks = await self._accept(events)
        except IngestError as error:
            await self._send({"status": "rejected", **error.to_dict()})
            return
        await self._send(acks[0] if single else {"acks": acks})

    async def _accept(self, events: list) -> list[dict[str, object]]:
        try:
            result = await services.events_accept(events)
        except IngestError as error:
            if not error.rejected:
                raise
            return [{"status": "rejected", **rejection.to_dict()} for rejection in error.rejected]
        acks: list[dict[str, object]] = [{} for _ in events]
        flags = iter(result.flags)
        for index, event_id in enumerate(result.event_ids):
            if event_id is not None:
                status = "accepted" if next(flags) == "1" else "duplicate"
                acks[index] = {"event_id": event_id, "status": status}
        for rejection in result.rejected:
            acks[rejection.index] = {"status": "rejected", **rejection.to_dict()}
        return acks

    async def _send(self, message: dict[str, object]) -> None:
        await self.send(text_data=orjson.dumps(message).decode())


class EventExplorerConsumer(AsyncWebsocketConsumer):
    """Pushes live events to the explorer page, filtered by ``{"type", "customer_id"}``."""

    MAX_PER_PUSH = 50
    PUSH_EVERY_S = 0.25

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        allowed = await _user_may_explore(user)
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.type_filter = ""
        self.customer_filter = ""
        await self.accept()
        self.tail = asyncio.ensure_future(self._tail())

    async def disconnect(self, code: int) -> None:
        tail = getattr(self, "tail", None)
        if tail is not None:
            tail.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await tail

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = orjson.loads(text_data or bytes_data or b"{}")
        except orjson.JSONDecodeError:
            return
        if type(message) is dict:
            self.type_filter = str(message.get("type") or "")[:64]
            self.customer_filter = str(message.get("customer_id") or "")[:128]

    def _matches(self, event: dict) -> bool:
        if self.type_filter and event.get("type") != self.type_filter:
            return False
        return not self.customer_filter or event.get("customer_id") == self.customer_filter

    async def _tail(self) -> None:
        client = streams.async_redis_client()
        names = [streams.event_stream_key(p) for p in range(settings.CDP_PARTITIONS)]
        # Explicit ids from the start: "$" would be re-resolved on every call and could skip
        # entries appended between two reads.
        async with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.xrevrange(name, count=1)
            latest = await pipe.execute()
        positions: dict[str, bytes | str] = {
            name: (entries[0][0] if entries else "0-0")
            for name, entries in zip(names, latest, strict=True)
        }
        while True:
            started = time.monotonic()
            replies = await client.xread(positions, count=2000, block=int(self.PUSH_EVERY_S * 1000))
            shown: list[dict] = []
            seen = 0
            for stream_key, messages in replies or []:
                name = stream_key.decode() if isinstance(stream_key, bytes) else stream_key
                for stream_id, fields in messages:
                    positions[name] = stream_id
                    payload = fields.get(b"e")
                    if not payload:
                        continue
                    event = streams.decode_event(payload)
                    if not self._matches(event):
                        continue
                    seen += 1
                    if len(shown) < self.MAX_PER_PUSH:
                        shown.append(event)
            if shown:
                shown.sort(key=lambda event: event["ts"])
                await self.send(
                    text_data=orjson.dumps({"events": shown, "skipped": seen - len(shown)}).decode()
                )
            spare = self.PUSH_EVERY_S - (time.monotonic() - started)
            if spare > 0:
                await asyncio.sleep(spare)


async def _user_may_explore(user: object) -> bool:
    from asgiref.sync import sync_to_async

    return await sync_to_async(user_has_role)(user, Role.MARKETER, Role.ANALYST)
