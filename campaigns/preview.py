"""The designer's "test with an event": the draft through the engine core, explained."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence

from campaigns.models import Campaign
from campaigns.services import SpecInvalid
from campaigns.spec.catalog import catalog_load
from campaigns.spec.validation import spec_problems
from campaigns.spec.words import actions_words, block_label


class PreviewError(ValueError):
    """The test event itself is unusable (named field in the message)."""


def _event(data: Mapping[str, object], default_customer: str, default_ts: float) -> object:
    from realtime.engine.model import Event

    event_type = data.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise PreviewError("event.type: name the event type.")
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise PreviewError("event.attributes: a JSON object of attribute values.")
    ts = data.get("ts")
    return Event(
        event_id=str(data.get("event_id") or f"test-{uuid.uuid4().hex[:12]}"),
        type=event_type,
        customer_id=str(data.get("customer_id") or default_customer),
        ts=float(ts) if isinstance(ts, int | float) else default_ts,
        attributes=dict(attributes),
    )


def campaign_event_explain(
    *,
    campaign: Campaign,
    event: Mapping[str, object],
    profile: Mapping[str, object] | None = None,
    history: Sequence[Mapping[str, object]] = (),
    spec: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """What the draft (or ``spec``) would do with ``event``, condition by condition.

    ``history`` holds earlier events of the same customer (they fill windows and sequences);
    without ``profile`` the customer's stored profile is used.
    """
    from realtime.replay import event_explain

    spec = spec if spec is not None else campaign.draft_spec
    catalog = catalog_load()
    problems = spec_problems(spec, catalog=catalog)
    if problems:
        raise SpecInvalid(problems)
    now = time.time()
    test_event = _event(event, "test-customer", now)
    customer = test_event.customer_id  # type: ignore[attr-defined]  # an engine Event
    earlier = [_event({**item, "customer_id": customer}, customer, now - 1) for item in history]
    result = event_explain(
        campaign_id=campaign.pk,
        spec=spec,
        event=test_event,  # type: ignore[arg-type]  # an engine Event
        profile=profile,
        history=earlier,  # type: ignore[arg-type]  # engine Events
        event_types=catalog.engine_event_types(),
    )
    data = result.to_dict()
    for item in data["items"]:  # type: ignore[union-attr]  # a list of dicts
        item["block"] = block_label(str(item.get("path", "")))
    data["would_send"] = actions_words(spec) if data["verdict"] == "offer" else ""
    return data
