"""Staff console WebSocket: authenticate, join the team's group, forward pushes."""

from __future__ import annotations

from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from cdp_site.roles import Role, user_has_role
from realtime.delivery.staff import TEAM_PATTERN, staff_group

STAFF_ROLES = (Role.MARKETER, Role.ANALYST)


class StaffConsoleConsumer(AsyncWebsocketConsumer):
    group = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        team = str(self.scope["url_route"]["kwargs"].get("team", ""))
        allowed = bool(user and user.is_authenticated) and await database_sync_to_async(
            user_has_role
        )(user, *STAFF_ROLES)
        if not allowed or not TEAM_PATTERN.match(team):
            await self.close(code=4403)
            return
        self.group = staff_group(team)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=orjson.dumps({"type": "hello", "team": team}).decode())

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def staff_task(self, event: dict[str, Any]) -> None:
        await self.send(
            text_data=orjson.dumps(
                {"type": "task", "task_id": event.get("task_id"), "html": event.get("html", "")}
            ).decode()
        )

    async def staff_done(self, event: dict[str, Any]) -> None:
        await self.send(
            text_data=orjson.dumps({"type": "done", "task_id": event.get("task_id")}).decode()
        )
