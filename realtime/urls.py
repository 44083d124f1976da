from django.urls import path

from realtime import views
from realtime.live import views as live_views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("engine/", live_views.engine_page, name="engine"),
]

from realtime.ingest import views as ingest_views  # noqa: E402

urlpatterns += [
    path("events/", ingest_views.event_explorer, name="event-explorer"),
    path("events/types/", ingest_views.event_type_list, name="event-types"),
    path("events/sources/", ingest_views.source_list, name="sources"),
    path("events/sources/<int:pk>/revoke", ingest_views.source_revoke, name="source-revoke"),
    path("events/tracker/", ingest_views.tracker_install, name="tracker-install"),
]
