"""Values that cross the engine's boundary: events in; decisions, conversions and the rest out.

Everything here is a frozen, slotted dataclass so the drivers can hand them between threads,
store them and compare them without defensive copies.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

#: Reserved event type the platform emits when a customer's profile changes (upsert API);
#: its attributes are the changed fields. Date triggers and the engine's fact overlay read it.
PROFILE_UPDATED = "profile_updated"

#: Namespace of every id the engine derives (decisions, emitted events, timers). Fixed forever:
#: changing it would change every decision id and break idempotency on replay.
ENGINE_NAMESPACE = uuid.UUID("6f0c3c1e-7c55-4c1e-9a57-0d6b1f4e2a10")

Outcome = Literal["offer", "held_out", "suppressed"]
SuppressionReason = Literal[
    "cap", "quiet_hours", "budget", "arbitration", "offer_limit", "schedule"
]
ExplanationKind = Literal["trigger", "condition", "wait", "guard", "schedule", "note"]
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class Event:
    """One customer event. ``ts`` is event time in epoch seconds (UTC)."""

    event_id: str
    type: str
    customer_id: str
    ts: float
    attributes: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "customer_id": self.customer_id,
            "ts": self.ts,
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Event:
        attributes = data.get("attributes") or {}
        ts = data["ts"]
        if not isinstance(ts, int | float) or not isinstance(attributes, Mapping):
            raise ValueError("event needs a numeric 'ts' and an object 'attributes'")
        return cls(
            event_id=str(data["event_id"]),
            type=str(data["type"]),
            customer_id=str(data["customer_id"]),
            ts=float(ts),
            attributes=dict(attributes),
        )


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferAction:
    offer: str
    channel: str
    fallback: str | None = None
    kind: Literal["offer"] = "offer"


@dataclass(frozen=True, slots=True)
class SetProfileAction:
    facts: Mapping[str, object]
    kind: Literal["set_profile"] = "set_profile"


@dataclass(frozen=True, slots=True)
class EmitAction:
    event: str
    attributes: Mapping[str, object] = field(default_factory=dict)
    kind: Literal["emit"] = "emit"


@dataclass(frozen=True, slots=True)
class NotifyStaffAction:
    team: str
    message: str
    kind: Literal["notify_staff"] = "notify_staff"


Action = OfferAction | SetProfileAction | EmitAction | NotifyStaffAction


def action_to_dict(action: Action) -> dict[str, object]:
    if isinstance(action, OfferAction):
        return {"offer": action.offer, "channel": action.channel, "fallback": action.fallback}
    if isinstance(action, SetProfileAction):
        return {"set_profile": dict(action.facts)}
    if isinstance(action, EmitAction):
        return {"emit": {"event": action.event, "attributes": dict(action.attributes)}}
    return {"notify_staff": {"team": action.team, "message": action.message}}


# --- explanations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExplanationItem:
    """One line of an explanation: a trigger, condition, wait or guard, and whether it held.

    ``path`` is the JSON path of the block in the spec ("conditions.all[1]"), ``text`` a
    sentence for a marketer, ``values`` what the engine saw (JSON-able).
    """

    kind: ExplanationKind
    path: str
    text: str
    held: bool
    values: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "path": self.path,
            "text": self.text,
            "held": self.held,
            "values": dict(self.values),
        }


RuleVerdict = Literal[
    "offer",  # would act now
    "held_out",
    "suppressed",
    "waiting",  # conditions held; waiting for a delay / unless window / quiet hours to end
    "not_triggered",  # the event is not this rule's trigger
    "conditions_failed",
    "outside_schedule",
]


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    """Why one rule did or did not fire for one event (the designer's "test with an event")."""

    campaign_id: int
    version: int
    name: str
    customer_id: str
    event_id: str
    verdict: RuleVerdict
    summary: str
    items: tuple[ExplanationItem, ...]
    suppression_reason: SuppressionReason | None = None

    @property
    def failed(self) -> tuple[ExplanationItem, ...]:
        return tuple(item for item in self.items if not item.held)

    def to_dict(self) -> dict[str, object]:
        return {
            "campaign_id": self.campaign_id,
            "version": self.version,
            "name": self.name,
            "customer_id": self.customer_id,
            "event_id": self.event_id,
            "verdict": self.verdict,
            "summary": self.summary,
            "suppression_reason": self.suppression_reason,
            "items": [item.to_dict() for item in self.items],
        }


# --- outputs ------------------------------------------------------------------------------


def decision_id_for(
    campaign_id: int, version: int, customer_id: str, trigger_event_id: str, timer_id: str = ""
) -> str:
    """Deterministic decision id: replaying the same log yields the same ids (idempotency)."""
    name = f"decision:{campaign_id}:{version}:{customer_id}:{trigger_event_id}:{timer_id}"
    return str(uuid.uuid5(ENGINE_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class Decision:
    """What a campaign decided for a customer.

    ``outcome`` "offer" means the rule acted (its actions go out, offer or not); "held_out" and
    "suppressed" (with ``suppression_reason``) carry the actions that would have run, for
    analysis: deliver only when the outcome is "offer". ``occurred_at`` is event time: the
    trigger's, or the timer's due time for delayed, waiting and deferred decisions.
    """

    decision_id: str
    campaign_id: int
    version: int
    customer_id: str
    trigger_event_id: str
    outcome: Outcome
    suppression_reason: SuppressionReason | None
    variant: str | None
    actions: tuple[Action, ...]
    explanation: tuple[ExplanationItem, ...]
    occurred_at: float
    timer_id: str | None = None
    priority: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "decision_id": self.decision_id,
            "campaign_id": self.campaign_id,
            "version": self.version,
            "customer_id": self.customer_id,
            "trigger_event_id": self.trigger_event_id,
            "timer_id": self.timer_id,
            "outcome": self.outcome,
            "suppression_reason": self.suppression_reason,
            "variant": self.variant,
            "priority": self.priority,
            "actions": [action_to_dict(action) for action in self.actions],
            "explanation": [item.to_dict() for item in self.explanation],
            "occurred_at": self.occurred_at,
        }


@dataclass(frozen=True, slots=True)
class Conversion:
    """A goal event attributed to an earlier decision (offer or held-out alike)."""

    decision_id: str
    campaign_id: int
    customer_id: str
    event_id: str
    revenue: float | None
    ts: float
    outcome: Outcome = "offer"


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """Facts a rule set; the driver writes them back to the profile store."""

    customer_id: str
    facts: Mapping[str, object]
    decision_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class TimerScheduled:
    """A durable timer the engine now holds for a customer (the driver may index it)."""

    customer_id: str
    timer_id: str
    due: float
    kind: str
    campaign_id: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Everything one call to the engine produced.

    ``emitted_events`` were already evaluated in the same pass (forward chaining): archive them,
    never feed them back. ``dirty_customers`` are those whose state changed and must be
    checkpointed.
    """

    decisions: tuple[Decision, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    profile_updates: tuple[ProfileUpdate, ...] = ()
    emitted_events: tuple[Event, ...] = ()
    dirty_customers: frozenset[str] = frozenset()
    timers_scheduled: tuple[TimerScheduled, ...] = ()
    warnings: tuple[str, ...] = ()
    events_processed: int = 0
    timers_fired: int = 0

    def merged(self, other: BatchResult) -> BatchResult:
        return BatchResult(
            decisions=self.decisions + other.decisions,
            conversions=self.conversions + other.conversions,
            profile_updates=self.profile_updates + other.profile_updates,
            emitted_events=self.emitted_events + other.emitted_events,
            dirty_customers=self.dirty_customers | other.dirty_customers,
            timers_scheduled=self.timers_scheduled + other.timers_scheduled,
            warnings=self.warnings + other.warnings,
            events_processed=self.events_processed + other.events_processed,
            timers_fired=self.timers_fired + other.timers_fired,
        )
