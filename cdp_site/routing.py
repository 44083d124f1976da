"""WebSocket routes of every app, gathered in one list."""

from django.urls import URLPattern, URLResolver, path

from campaigns.offers.consumers import StaffConsoleConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = []
websocket_urlpatterns += [
    path("ws/staff/<str:team>/", StaffConsoleConsumer.as_asgi()),
]

from realtime.ingest.consumers import EventExplorerConsumer, EventIngestConsumer  # noqa: E402

websocket_urlpatterns += [
    path("ws/events", EventIngestConsumer.as_asgi()),
    path("ws/explorer", EventExplorerConsumer.as_asgi()),
]

from campaigns.dashboards.consumers import CampaignDashboardConsumer  # noqa: E402

websocket_urlpatterns += [
    path("ws/campaigns/<int:campaign_id>/dashboard", CampaignDashboardConsumer.as_asgi()),
]
