"""What the designer's pickers offer and what the compiler checks names against.

Event types come from the ingest registry (``realtime.ingest.selectors``), offers from
``campaigns.models.Offer``, profile attributes from the profile store plus the well-known
ones the scenarios use. Read once per request; nothing here is cached across requests so a
deleted event type or offer shows up as broken at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Profile attributes every deployment has (the demo data and the scenarios rely on them).
WELL_KNOWN_PROFILE_ATTRIBUTES: dict[str, str] = {
    "age": "number",
    "region": "string",
    "gender": "string",
    "segment_tier": "string",
    "interest": "string",
    "timezone": "string",
    "deposit_maturity_date": "date",
    "gift_coupon_expiry": "date",
    "marketing_consent": "boolean",
}
#: The engine's names for the registry's attribute types.
ENGINE_TYPES = {
    "enum": "string",
    "datetime": "datetime",
    "string": "string",
    "number": "number",
    "boolean": "boolean",
}
CHANNELS = ("push", "sms", "email", "webhook", "in_app")


@dataclass(frozen=True)
class EventAttribute:
    name: str
    type: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """Everything the designer needs to offer choices, loaded in three queries."""

    event_types: dict[str, tuple[EventAttribute, ...]] = field(default_factory=dict)
    profile_attributes: dict[str, str] = field(default_factory=dict)
    offers: dict[str, str] = field(default_factory=dict)  # slug -> name
    has_registry: bool = False
    has_offers: bool = False

    def engine_event_types(self) -> dict[str, dict[str, str]] | None:
        """The registry as the compiler reads it, or None when nothing is registered yet."""
        if not self.has_registry:
            return None
        return {
            name: {a.name: ENGINE_TYPES.get(a.type, "string") for a in attributes}
            for name, attributes in self.event_types.items()
        }

    def attributes_of(self, event: object) -> tuple[EventAttribute, ...]:
        return self.event_types.get(event, ()) if isinstance(event, str) else ()

    def attribute(self, event: object, name: object) -> EventAttribute | None:
        for attribute in self.attributes_of(event):
            if attribute.name == name:
                return attribute
        return None


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
PROFILE_SAMPLE = 200


def _trait_type(value: object) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "date" if _ISO_DATE.match(value) else "string"
    return None


def profile_attributes_sampled() -> dict[str, str]:
    """The well-known attributes plus the traits seen on recently updated profiles (one query
    of a few hundred rows), typed by their values: what the profile field picker offers."""
    attributes = dict(WELL_KNOWN_PROFILE_ATTRIBUTES)
    try:
        from segments.models import Customer
    except ImportError:  # pragma: no cover - the profile store is optional for the designer
        return attributes
    rows = Customer.objects.order_by("-updated_at").values_list("traits", flat=True)
    for traits in rows[:PROFILE_SAMPLE]:
        if not isinstance(traits, dict):
            continue
        for name, value in traits.items():
            kind = _trait_type(value)
            if kind is not None and name not in attributes:
                attributes[name] = kind
    return dict(sorted(attributes.items()))


def catalog_load() -> Catalog:
    event_types: dict[str, tuple[EventAttribute, ...]] = {}
    try:
        from realtime.ingest.selectors import event_type_definitions
    except ImportError:  # the registry is optional for the designer
        definitions: dict[str, list[dict[str, object]]] = {}
    else:
        definitions = event_type_definitions()
    for name, attributes in sorted(definitions.items()):
        event_types[name] = tuple(
            EventAttribute(
                name=str(item.get("name")),
                type=str(item.get("type", "string")),
                values=tuple(str(v) for v in item.get("values") or ()),  # type: ignore[union-attr]
            )
            for item in attributes
            if isinstance(item, dict) and item.get("name")
        )
    offers: dict[str, str] = {}
    try:
        from campaigns.models import Offer
    except ImportError:
        has_offers = False
    else:
        offers = dict(Offer.objects.filter(is_active=True).values_list("slug", "name"))
        has_offers = True
    return Catalog(
        event_types=event_types,
        profile_attributes=profile_attributes_sampled(),
        offers=offers,
        has_registry=bool(event_types),
        has_offers=has_offers,
    )
