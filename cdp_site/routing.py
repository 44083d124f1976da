"""WebSocket routes of every app.

Two kinds of socket: browser pages (session cookie; the Origin must be one of ours, or another
site could open the socket with the user's cookie) and sources (an API key in the first message,
no cookie, and SDKs that send no Origin header at all).
"""

from django.urls import URLPattern, URLResolver, path

from campaigns.dashboards.consumers import CampaignDashboardConsumer
from campaigns.offers.consumers import StaffConsoleConsumer
from realtime.ingest.consumers import EventExplorerConsumer, EventIngestConsumer

browser_websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/staff/<str:team>/", StaffConsoleConsumer.as_asgi()),
    path("ws/explorer", EventExplorerConsumer.as_asgi()),
    path("ws/campaigns/<int:campaign_id>/dashboard", CampaignDashboardConsumer.as_asgi()),
]

source_websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/events", EventIngestConsumer.as_asgi()),
]
