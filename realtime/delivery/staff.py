"""Staff console: a live push to the team's Channels group.

The task itself is already a row in PostgreSQL (``campaigns.models.StaffTask``) when this runs;
the group message only makes it appear at once. The channel layer is at-most-once, so a panel
that was offline resyncs from the database over HTTP when it reconnects.
"""

from __future__ import annotations

import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from realtime.delivery.base import BaseBackend, Message, SendResult

TEAM_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")


def staff_group(team: str) -> str:
    return f"staff.{team}"


class StaffConsoleBackend(BaseBackend):
    def send(self, message: Message) -> SendResult:
        if not TEAM_PATTERN.match(message.team):
            return SendResult.permanent(f"invalid team name {message.team!r}")
        layer = get_channel_layer()
        if layer is None:
            return SendResult.permanent("no channel layer is configured")
        try:
            async_to_sync(layer.group_send)(
                staff_group(message.team),
                {
                    "type": "staff.task",
                    "task_id": message.metadata.get("task_id"),
                    "html": message.html_body,
                },
            )
        except Exception as error:
            return SendResult.temporary(f"channel layer: {error}")
        return SendResult.sent(str(message.metadata.get("task_id", "")))
