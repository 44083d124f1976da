from django.urls import URLPattern, path

from realtime.api.event_types import EventTypeDetailApi, EventTypeListApi, EventTypeRegistryApi
from realtime.api.ingest import events_ingest_view

urlpatterns: list[URLPattern] = [
    path("events", events_ingest_view, name="events-ingest"),
    path("event-types", EventTypeListApi.as_view(), name="api-event-types"),
    path("event-types/registry", EventTypeRegistryApi.as_view(), name="event-types-registry"),
    path("event-types/<str:name>", EventTypeDetailApi.as_view(), name="event-type"),
]
