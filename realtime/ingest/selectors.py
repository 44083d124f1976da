"""Reads of event collection: the registry for the designer and ingest, sources, the archive."""

from __future__ import annotations

from django.db.models import QuerySet

from realtime.models import EventType, Source


def event_type_list() -> QuerySet[EventType]:
    return EventType.objects.order_by("name")


def event_type_definitions() -> dict[str, list[dict[str, object]]]:
    """``{type name: declared attribute list}``: what the validators are compiled from."""
    return dict(EventType.objects.values_list("name", "attributes"))


def event_type_registry() -> dict[str, dict[str, str]]:
    """``{type name: {attribute name: attribute type}}`` for the designer's field pickers and
    the campaign compiler. Enum values are in ``event_type_definitions``."""
    return {
        name: {str(spec["name"]): str(spec["type"]) for spec in attributes}
        for name, attributes in event_type_definitions().items()
    }


def source_list() -> QuerySet[Source]:
    return Source.objects.order_by("revoked_at", "name", "id")
