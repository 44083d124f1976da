"""What a message may know: the customer's traits and the trigger event's attributes.

Profiles live in ``segments.Customer.traits`` (owned by the segments app); this module only
reads them, in one query per batch, and hands plain dictionaries to the renderer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.apps import apps

from campaigns.models import Decision


def customer_traits(customer_ids: Iterable[str]) -> dict[str, dict[str, object]]:
    wanted = sorted(set(customer_ids))
    traits: dict[str, dict[str, object]] = {customer_id: {} for customer_id in wanted}
    try:
        customer_model = apps.get_model("segments", "Customer")
    except LookupError:
        return traits
    rows = customer_model.objects.filter(customer_id__in=wanted).values_list(
        "customer_id", "traits"
    )
    for customer_id, values in rows:
        if isinstance(values, Mapping):
            traits[customer_id] = dict(values)
    return traits


def event_attributes(decision: Decision) -> dict[str, object]:
    """The trigger's attributes as the engine recorded them in the explanation, if it did."""
    for item in decision.explanation or []:
        if not isinstance(item, Mapping) or item.get("kind") != "trigger":
            continue
        values = item.get("values")
        if not isinstance(values, Mapping):
            return {}
        attributes = values.get("attributes", values)
        if isinstance(attributes, Mapping):
            found = {str(name): value for name, value in attributes.items()}
            if "type" not in found and isinstance(values.get("event"), str):
                found["type"] = values["event"]
            return found
    return {}
