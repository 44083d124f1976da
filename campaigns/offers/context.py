"""What a message may know: the customer's traits and the trigger event's attributes.

Profiles live in ``segments.Customer.traits`` (owned by the segments app); this module only
reads them, in one query per batch, and hands plain dictionaries to the renderer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from django.apps import apps
from django.db import connection

from campaigns.models import Decision
from campaigns.offers.sql import text_array


def customer_traits(customer_ids: Iterable[str]) -> dict[str, dict[str, object]]:
    wanted = sorted(set(customer_ids))
    traits: dict[str, dict[str, object]] = {customer_id: {} for customer_id in wanted}
    try:
        customer_model = apps.get_model("segments", "Customer")
    except LookupError:
        return traits
    # Raw SQL: a batch asks for a few hundred customers, and the ORM prepares each value of an
    # IN list in Python; one array literal is one parameter.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id, traits::text FROM {customer_model._meta.db_table}"
            " WHERE customer_id = ANY(%s::text[])",
            [text_array(wanted)],
        )
        rows = cursor.fetchall()
    for customer_id, text in rows:
        values = orjson.loads(text) if text else None
        if isinstance(values, Mapping):
            traits[customer_id] = dict(values)
    return traits


def event_attributes(decision: Decision) -> dict[str, object]:
    """The trigger's attributes as the engine recorded them in the explanation, if it did."""
    return trigger_attributes(decision.explanation)


def trigger_attributes(explanation: object) -> dict[str, object]:
    """``event_attributes`` from a decision's explanation alone (a batch reads only that)."""
    if not isinstance(explanation, list):
        return {}
    for item in explanation:
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
