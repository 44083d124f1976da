"""The replay driver and the designer's previews: the engine core over past or typed events.

Two entry points, both running the very engine that runs live (``realtime.engine``):

* :func:`event_explain` — "test with an event": one event (after an optional history of the
  customer's earlier events) through a draft rule, explained condition by condition;
* :func:`replay_estimate` — "estimate audience": archived events of the last N days, read from
  PostgreSQL in event-time order, through the draft rule together with the live campaigns
  (so arbitration and collisions are real), counting customers step by step:
  triggered → each condition → waits → guards → would be offered.

Profiles come from PostgreSQL (``segments.Customer.traits``), loaded once per chunk of events;
facts set by rules during the replay are applied to that copy only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from realtime.engine.evaluator import Engine
from realtime.engine.model import PROFILE_UPDATED, BatchResult, Event, RuleExplanation
from realtime.engine.plan import OfferLimit, Plan, RuleSource, build_plan
from realtime.engine.protocols import InMemoryProfiles

#: Id the draft takes inside a preview plan when its campaign has no id yet.
DRAFT_ID = 0
CHUNK = 5000
_EMPTY: Mapping[str, object] = {}


class DatabaseProfiles(InMemoryProfiles):
    """Profiles read from PostgreSQL in one query per batch of customers not seen yet."""

    def __init__(self, overrides: Mapping[str, Mapping[str, object]] | None = None) -> None:
        super().__init__(overrides)
        self._loaded: set[str] = set(self.profiles)

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        missing = [cid for cid in customer_ids if cid not in self._loaded]
        if not missing:
            return
        from segments.models import Customer

        for start in range(0, len(missing), 5000):
            part = missing[start : start + 5000]
            rows = Customer.objects.filter(customer_id__in=part).values_list(
                "customer_id", "traits"
            )
            for customer_id, traits in rows:
                self.profiles[customer_id] = dict(traits or {})
            self._loaded.update(part)

    def apply(self, result: BatchResult) -> None:
        for update in result.profile_updates:
            self.update(update.customer_id, update.facts)


def offer_limits() -> dict[str, OfferLimit]:
    """Each offer's own per-customer limit, as the live engine applies it."""
    try:
        from campaigns.models import Offer
    except ImportError:  # pragma: no cover - offers are optional for previews
        return {}
    return {
        slug: OfferLimit(max=limit, per=None)
        for slug, limit in Offer.objects.filter(is_active=True).values_list(
            "slug", "per_customer_limit"
        )
        if limit
    }


def preview_plan(
    *,
    campaign_id: int,
    spec: Mapping[str, object],
    live: Sequence[RuleSource] = (),
    event_types: Mapping[str, Mapping[str, str]] | None = None,
    offers: Mapping[str, OfferLimit] | None = None,
) -> Plan:
    """The draft (as version 0 of its campaign) next to the given live campaigns."""
    sources = [RuleSource(campaign_id=campaign_id, version=0, spec=spec)]
    sources += [source for source in live if source.campaign_id != campaign_id]
    return build_plan(sources, offers=offers, event_types=event_types, backend="closures")


# --- test with an event -------------------------------------------------------------------


@dataclass(frozen=True)
class EventExplanation:
    explanation: RuleExplanation
    history_events: int
    profile: Mapping[str, object]

    def to_dict(self) -> dict[str, object]:
        return {
            **self.explanation.to_dict(),
            "history_events": self.history_events,
            "profile": dict(self.profile),
        }


def event_explain(
    *,
    campaign_id: int,
    spec: Mapping[str, object],
    event: Event,
    profile: Mapping[str, object] | None = None,
    history: Sequence[Event] = (),
    event_types: Mapping[str, Mapping[str, str]] | None = None,
) -> EventExplanation:
    """Why the draft would or would not act on ``event``; raises ``SpecErrors`` when the spec
    does not compile. ``history`` (earlier events of the same customer) fills the windows."""
    plan = preview_plan(campaign_id=campaign_id, spec=spec, event_types=event_types)
    profiles = (
        InMemoryProfiles({event.customer_id: profile})
        if profile is not None
        else DatabaseProfiles()
    )
    profiles.prefetch([event.customer_id])
    engine = Engine(plan, profiles=profiles)
    earlier = sorted(
        (e for e in history if e.customer_id == event.customer_id and e.ts <= event.ts),
        key=lambda e: (e.ts, e.event_id),
    )
    if earlier:
        result = engine.process(earlier, now=event.ts)
        for update in result.profile_updates:
            profiles.update(update.customer_id, update.facts)
    explanations = engine.explain(event, campaign_ids=[campaign_id])
    return EventExplanation(
        explanation=explanations[0],
        history_events=len(earlier),
        profile=dict(profiles.get(event.customer_id)),
    )


# --- estimate audience ----------------------------------------------------------------------


@dataclass
class Step:
    key: str
    label: str
    path: str
    customers: set[str] = field(default_factory=set)
    evaluations: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "path": self.path,
            "customers": len(self.customers),
            "evaluations": self.evaluations,
        }


@dataclass
class EstimateResult:
    events: int = 0
    customers_seen: int = 0
    steps: list[Step] = field(default_factory=list)
    offers: int = 0
    offered_customers: int = 0
    held_out_customers: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)
    offers_by_slug: Counter[str] = field(default_factory=Counter)
    collisions: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "customers_seen": self.customers_seen,
            "steps": [step.to_dict() for step in self.steps],
            "offers": self.offers,
            "offered_customers": self.offered_customers,
            "held_out_customers": self.held_out_customers,
            "suppressed": dict(self.suppressed),
            "offers_by_slug": dict(self.offers_by_slug),
            "collisions": {str(k): v for k, v in self.collisions.items()},
            "seconds": round(self.seconds, 3),
        }


def _top_condition_paths(spec: Mapping[str, object]) -> list[str]:
    conditions = spec.get("conditions")
    if isinstance(conditions, Mapping) and isinstance(conditions.get("all"), list):
        return [f"conditions.all[{i}]" for i in range(len(conditions["all"]))]  # type: ignore[arg-type]  # checked
    return ["conditions"] if conditions else []


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


class _Funnel:
    """Counts customers at each step from the draft's explanations."""

    def __init__(self, spec: Mapping[str, object], labels: Sequence[str]) -> None:
        self.triggered = Step("triggered", "Triggered", "trigger")
        self.conditions = [
            Step(f"condition_{i + 1}", labels[i] if i < len(labels) else f"Condition {i + 1}", p)
            for i, p in enumerate(_top_condition_paths(spec))
        ]
        self.passed = Step("conditions_held", "All conditions held", "conditions")
        self.outside = 0

    def add(self, explanation: RuleExplanation) -> None:
        if explanation.verdict == "not_triggered":
            return
        items = explanation.items
        trigger = [item for item in items if _under(item.path, "trigger")]
        if trigger and not trigger[0].held:
            return
        customer = explanation.customer_id
        self.triggered.customers.add(customer)
        self.triggered.evaluations += 1
        if explanation.verdict == "outside_schedule":
            self.outside += 1
            return
        held_by_path = {item.path: item.held for item in items}
        for step in self.conditions:
            if not held_by_path.get(step.path, False):
                return
            step.customers.add(customer)
            step.evaluations += 1
        self.passed.customers.add(customer)
        self.passed.evaluations += 1


def archived_events(
    start: dt.datetime, end: dt.datetime, types: Sequence[str] | None
) -> Iterator[Event]:
    """The archive, in event-time order, as engine events (the ingest app owns the table)."""
    from realtime.ingest.selectors import archive_events_between

    yield from archive_events_between(start, end, types=types)


def _chunks(events: Iterable[Event], size: int) -> Iterator[list[Event]]:
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def replay_estimate(
    *,
    campaign_id: int,
    spec: Mapping[str, object],
    start: dt.datetime,
    end: dt.datetime,
    live: Sequence[RuleSource] = (),
    events: Iterable[Event] | None = None,
    condition_labels: Sequence[str] = (),
    event_types: Mapping[str, Mapping[str, str]] | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> EstimateResult:
    """Replay ``[start, end)`` through the draft and the live campaigns; count step by step.

    ``events`` overrides the archive (tests, backtests from files). ``progress(fraction,
    events)`` is called about every chunk, with the share of the time window replayed.
    """
    began = time.perf_counter()
    plan = preview_plan(
        campaign_id=campaign_id,
        spec=spec,
        live=live,
        event_types=event_types,
        offers=offer_limits(),
    )
    draft = plan.by_campaign[campaign_id]
    trigger_event = draft.rule.trigger_event
    profiles = DatabaseProfiles()
    engine = Engine(plan, profiles=profiles)
    funnel = _Funnel(spec, condition_labels)
    result = EstimateResult()
    customers: set[str] = set()
    draft_outcomes: dict[str, set[str]] = defaultdict(set)
    other_offers: dict[int, set[str]] = defaultdict(set)
    start_ts, end_ts = start.timestamp(), end.timestamp()
    span = max(end_ts - start_ts, 1.0)
    relevant = sorted(set(plan.by_type) | {PROFILE_UPDATED})
    source = events if events is not None else archived_events(start, end, relevant)

    def absorb(batch_result: BatchResult) -> None:
        profiles.apply(batch_result)
        for decision in batch_result.decisions:
            if decision.campaign_id == campaign_id:
                draft_outcomes[decision.outcome].add(decision.customer_id)
                if decision.outcome == "offer":
                    result.offers += 1
                    for action in decision.actions:
                        slug = getattr(action, "offer", None)
                        if slug:
                            result.offers_by_slug[slug] += 1
                elif decision.outcome == "suppressed":
                    result.suppressed[decision.suppression_reason or "other"] += 1
            elif decision.outcome == "offer":
                other_offers[decision.campaign_id].add(decision.customer_id)

    last_ts = start_ts
    for chunk in _chunks(source, CHUNK):
        profiles.prefetch({event.customer_id for event in chunk})
        pending: list[Event] = []
        for event in chunk:
            if not start_ts <= event.ts < end_ts:
                continue
            result.events += 1
            customers.add(event.customer_id)
            last_ts = event.ts
            if event.type == trigger_event:
                if pending:
                    absorb(engine.process(pending, now=pending[-1].ts))
                    pending = []
                for explanation in engine.explain(event, campaign_ids=[campaign_id]):
                    funnel.add(explanation)
                absorb(engine.process([event], now=event.ts))
            else:
                pending.append(event)
        if pending:
            absorb(engine.process(pending, now=pending[-1].ts))
        if progress is not None:
            progress(min(1.0, (last_ts - start_ts) / span), result.events)
    # let the waits of customers triggered inside the window run out (unless, delay, quiet
    # hours); an unless-event after the window is not in the replay, so this errs high
    wait = (draft.rule.unless.within if draft.rule.unless else 0.0) + (draft.rule.delay or 0.0)
    absorb(engine.fire_timers(now=max(last_ts, end_ts) + wait + 86400.0))

    result.customers_seen = len(customers)
    decided = set().union(*draft_outcomes.values()) if draft_outcomes else set()
    waits = draft.rule.waits
    after_wait = Step(
        "decided",
        "Still eligible after the wait" if waits else "Reached the guards",
        "unless" if waits else "guards",
    )
    after_wait.customers = decided
    offered = Step(
        "offered", "Would get the offer" if draft.rule.has_offer else "Would be acted on", "actions"
    )
    offered.customers = draft_outcomes.get("offer", set())
    result.steps = [funnel.triggered, *funnel.conditions, funnel.passed, after_wait, offered]
    result.offered_customers = len(offered.customers)
    result.held_out_customers = len(draft_outcomes.get("held_out", set()))
    eligible = funnel.passed.customers
    result.collisions = {
        other: len(eligible & audience)
        for other, audience in sorted(other_offers.items())
        if eligible & audience
    }
    result.seconds = time.perf_counter() - began
    if progress is not None:
        progress(1.0, result.events)
    return result
