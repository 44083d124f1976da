"""Live campaign dashboard over WebSocket: authenticate, watch, push changed figures.

The page connects to ``/ws/campaigns/<id>/dashboard?range=1h``. The consumer joins the group
``campaign.<id>`` (the rollup and anyone else may ``group_send`` a ``dashboard.changed`` there)
and ``campaigns.counters`` (the live engine's best-effort ``campaigns.counters`` pushes). The
channel layer is at-most-once, so the consumer also polls, every ``POLL_S``, a fingerprint of
the campaign: its live counters hash in Redis and the rollup's version counter, one pipelined
round trip. When anything moved it recomputes the figures (``selectors.campaign_figures``) and
sends them only if they differ from what the page already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import translation

from campaigns.dashboards import selectors
from cdp_site.i18n import scope_language
from cdp_site.roles import Role, user_has_role
from realtime import streams
from realtime.live import keys as live_keys

logger = logging.getLogger(__name__)

POLL_S = 0.5
COUNTERS_GROUP = "campaigns.counters"


def campaign_group(campaign_id: int) -> str:
    return f"campaign.{campaign_id}"


class CampaignDashboardConsumer(AsyncWebsocketConsumer):
    campaign_id = 0
    groups_joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.campaign_id = int(self.scope["url_route"]["kwargs"]["campaign_id"])
        allowed = bool(user and user.is_authenticated) and await database_sync_to_async(
            user_has_role
        )(user, Role.ANALYST, Role.MARKETER)
        if not allowed:
            await self.close(code=4403)
            return
        self.campaign = await database_sync_to_async(selectors.dashboard_campaign_get)(
            campaign_id=self.campaign_id
        )
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.range_key = selectors.range_parse((query.get("range") or [None])[0]).key
        except ValueError:
            self.range_key = ""
        if self.campaign is None or not self.range_key:
            await self.close(code=4404)
            return
        # The figures carry sentences (the lift verdict) and labels: in the page's language.
        self.language = scope_language(self.scope)
        self.groups_joined = (campaign_group(self.campaign_id), COUNTERS_GROUP)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.dirty = asyncio.Event()
        self.last_payload = b""
        self.last_fingerprint: object = None
        await self.accept()
        self.poller = asyncio.create_task(self._poll())

    async def disconnect(self, code: int) -> None:
        poller = getattr(self, "poller", None)
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page may ask for another range: ``{"range": "24h"}``."""
        try:
            message = orjson.loads(text_data or "{}")
            self.range_key = selectors.range_parse(message.get("range")).key
        except (ValueError, AttributeError, orjson.JSONDecodeError):
            await self.send(text_data='{"type":"error","field":"range"}')
            return
        self.last_payload = b""
        self.dirty.set()

    # --- group messages ------------------------------------------------------------------

    async def dashboard_changed(self, event: dict[str, Any]) -> None:
        self.dirty.set()

    async def campaigns_counters(self, event: dict[str, Any]) -> None:
        deltas = event.get("deltas") or {}
        if str(self.campaign_id) in deltas:
            self.dirty.set()

    # --- the pusher ----------------------------------------------------------------------

    async def _fingerprint(self) -> object:
        client = streams.async_redis_client()
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(live_keys.counters(self.campaign_id))
        pipe.get(selectors.live_version_key())
        counters, version = await pipe.execute()
        return (tuple(sorted(counters.items())), version)

    async def _poll(self) -> None:
        while True:
            try:
                fingerprint = await self._fingerprint()
                if fingerprint != self.last_fingerprint or self.dirty.is_set():
                    self.last_fingerprint = fingerprint
                    self.dirty.clear()
                    await self._push()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the page alive; the next turn tries again
                logger.warning("dashboard push failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.dirty.wait(), timeout=POLL_S)

    def _figures(self, range_: selectors.DashboardRange) -> dict[str, object]:
        with translation.override(self.language):
            return selectors.campaign_figures(campaign=self.campaign, range_=range_)

    async def _push(self) -> None:
        range_ = selectors.range_parse(self.range_key)
        figures = await database_sync_to_async(self._figures)(range_)
        comparable = orjson.dumps({k: v for k, v in figures.items() if k != "generated_at"})
        if comparable == self.last_payload:
            return
        self.last_payload = comparable
        await self.send(text_data=orjson.dumps({"type": "figures", "figures": figures}).decode())
