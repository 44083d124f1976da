"""The evaluator: compiled plan + events + keyed state + ``now`` -> decisions and state changes.

Pure: no I/O and no clock. Readers (profiles, segments, scores) and the cross-customer budget
are injected. One :class:`Engine` holds the keyed state of the customers it owns; a driver feeds
it batches (:meth:`Engine.process`), checkpoints ``BatchResult.dirty_customers`` with
:meth:`Engine.snapshot`, and restores them elsewhere with :meth:`Engine.restore`.

Order of work for one event (one *pass*, forward chaining included):

1. timers of this customer due before the event fire first (event-time order per customer);
2. goal attribution and ``unless`` cancellations look at the event;
3. the event is recorded into the window streams of its type (so windows include it);
4. rules it can trigger are tested (trigger filter, schedule, conditions);
5. a rule whose conditions hold either waits (delay / unless -> durable timer) or decides:
   cap -> quiet hours -> holdout -> [offers only: arbitration by priority against the daily
   cap, the offer's own limit, budget] -> actions;
6. facts set by a rule are visible to later rules at once; emitted events are evaluated in the
   same pass (breadth first, depth-bounded; loops are rejected when the plan is built).
"""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .compiler import DateTrigger, EventTrigger
from .conditions import EvalContext, Readers
from .conditions.window import prune_stream, same_key
from .durations import format_duration
from .guards import (
    count_since,
    is_held_out,
    local_clock,
    local_day_start,
    local_midnight,
    pick_variant,
    quiet_until,
    remember,
)
from .model import (
    ENGINE_NAMESPACE,
    PROFILE_UPDATED,
    Action,
    BatchResult,
    Conversion,
    Decision,
    EmitAction,
    Event,
    ExplanationItem,
    NotifyStaffAction,
    OfferAction,
    Outcome,
    ProfileUpdate,
    RuleExplanation,
    RuleVerdict,
    SetProfileAction,
    SuppressionReason,
    TimerScheduled,
    decision_id_for,
)
from .plan import Plan, PlannedRule, zone
from .predicates import NUMBER_TYPES, to_instant
from .protocols import (
    Budget,
    InMemoryBudget,
    InMemoryProfiles,
    ProfileReader,
    ScoreReader,
    SegmentReader,
)
from .state import CustomerState, Timer

_DAY = 86400.0
_EMPTY: Mapping[str, object] = {}


class _Out:
    """Accumulates one call's outputs (lists, turned into a frozen BatchResult at the end)."""

    __slots__ = (
        "conversions",
        "decisions",
        "dirty",
        "emitted",
        "events",
        "fired",
        "profile_updates",
        "timers",
        "warnings",
    )

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.conversions: list[Conversion] = []
        self.profile_updates: list[ProfileUpdate] = []
        self.emitted: list[Event] = []
        self.dirty: set[str] = set()
        self.timers: list[TimerScheduled] = []
        self.warnings: list[str] = []
        self.events = 0
        self.fired = 0

    def result(self) -> BatchResult:
        return BatchResult(
            decisions=tuple(self.decisions),
            conversions=tuple(self.conversions),
            profile_updates=tuple(self.profile_updates),
            emitted_events=tuple(self.emitted),
            dirty_customers=frozenset(self.dirty),
            timers_scheduled=tuple(self.timers),
            warnings=tuple(self.warnings),
            events_processed=self.events,
            timers_fired=self.fired,
        )


class _Readers(Readers):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def profile_view(self, customer_id: str) -> Mapping[str, object]:
        engine = self.engine
        base = engine.profiles.get(customer_id)
        overlay = engine._facts.get(customer_id)
        if not overlay:
            return base
        merged = dict(base)
        for key, value in overlay.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def is_member(self, customer_id: str, segment: str) -> bool:
        segments = self.engine.segments
        return segments is not None and segments.is_member(customer_id, segment)

    def score(self, customer_id: str, model: str) -> float | None:
        scores = self.engine.scores
        return None if scores is None else scores.score(customer_id, model)


class _DryBudget:
    """Used by explanations: never spends (a preview must not use up a campaign's budget)."""

    def try_spend(self, campaign_id: int, limit: int) -> bool:
        return True


@dataclass(slots=True)
class _Candidate:
    """An offer that passed the customer's own guards and now competes in arbitration."""

    rule: PlannedRule
    trigger: Event
    ctx: EvalContext
    timer: Timer | None
    at: float  # the moment of decision (the trigger's, or the timer's due time)
    variant_name: str | None
    actions: tuple[Action, ...]
    items: list[ExplanationItem]
    depth: int


GuardVerdict = Literal["pass", "suppressed", "held_out", "defer"]


class Engine:
    """Evaluates a :class:`Plan` over events for the customers whose state it holds."""

    def __init__(
        self,
        plan: Plan,
        *,
        profiles: ProfileReader | None = None,
        segments: SegmentReader | None = None,
        scores: ScoreReader | None = None,
        budget: Budget | None = None,
    ) -> None:
        self._plan = plan
        self._by_type = plan.by_type
        self.profiles: ProfileReader = profiles if profiles is not None else InMemoryProfiles()
        self.segments = segments
        self.scores = scores
        self.budget: Budget = budget if budget is not None else InMemoryBudget()
        self.states: dict[str, CustomerState] = {}
        self._heap: list[tuple[float, str, str]] = []
        self._facts: dict[str, dict[str, object]] = {}
        self._readers = _Readers(self)
        self._out = _Out()
        self._queue: list[tuple[Event, int]] = []
        self._candidates: list[_Candidate] = []
        self._scratch: dict[str, object] = {}

    # --- public API ---------------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        return self._plan

    def replace_plan(self, plan: Plan) -> None:
        """Switch to newly published campaigns; state is kept (streams are keyed by content).

        Pending timers of a campaign no longer in the plan are dropped when they come due;
        those of a campaign with a new version fire under the new version.
        """
        self._plan = plan
        self._by_type = plan.by_type

    def process(self, events: Sequence[Event], *, now: float) -> BatchResult:
        """Evaluate ``events`` in order, then fire every timer due at or before ``now``."""
        out = self._out = _Out()
        plan = self._plan
        if events and (plan.reads_profiles or plan.reads_segments or plan.reads_scores):
            customer_ids = {event.customer_id for event in events}
            if plan.reads_profiles:
                self.profiles.prefetch(customer_ids)
            if self.segments is not None and plan.reads_segments:
                self.segments.prefetch(customer_ids)
            if self.scores is not None and plan.reads_scores:
                self.scores.prefetch(customer_ids)
        handle = self._handle
        queue = self._queue
        candidates = self._candidates
        for event in events:
            handle(event, 0)
            if queue or candidates:
                self._drain()
        out.events = len(events)
        self._fire_due(now)
        self._facts.clear()
        return out.result()

    def fire_timers(self, *, now: float) -> BatchResult:
        """Fire timers due at or before ``now`` (no new events)."""
        return self.process((), now=now)

    def next_timer_due(self) -> float | None:
        heap = self._heap
        while heap:
            due, customer_id, timer_id = heap[0]
            state = self.states.get(customer_id)
            timer = state.timers.get(timer_id) if state is not None and state.timers else None
            if timer is not None and timer.due == due:
                return due
            heapq.heappop(heap)  # stale: cancelled, fired early or evicted
        return None

    def pending_timers(self, customer_id: str) -> tuple[Timer, ...]:
        state = self.states.get(customer_id)
        if state is None or not state.timers:
            return ()
        return tuple(sorted(state.timers.values(), key=lambda timer: (timer.due, timer.timer_id)))

    def snapshot(self, customer_id: str) -> dict[str, object] | None:
        """JSON-able state of one customer; None when it has none."""
        state = self.states.get(customer_id)
        if state is None or state.is_empty():
            return None
        return state.to_json()

    def snapshot_bytes(self, customer_id: str) -> bytes | None:
        state = self.states.get(customer_id)
        if state is None or state.is_empty():
            return None
        return state.to_bytes()

    def restore(self, customer_id: str, data: Mapping[str, object] | bytes | None) -> None:
        """Load a customer's checkpointed state (replacing what is held), timers included."""
        if data is None:
            self.states.pop(customer_id, None)
            return
        state = (
            CustomerState.from_bytes(data)
            if isinstance(data, bytes)
            else CustomerState.from_json(data)
        )
        self.states[customer_id] = state
        for timer in (state.timers or {}).values():
            heapq.heappush(self._heap, (timer.due, customer_id, timer.timer_id))

    def prune(self, customer_id: str, *, now: float) -> None:
        """Forget what no live rule can look at any more: window entries older than every
        window, goals past their deadline, cap and offer history older than their periods,
        state of campaigns no longer live. Drops the customer's state when nothing is left.

        Recording prunes as it goes; this is for customers who went quiet (drivers call it
        before checkpointing or evicting them, so snapshots do not keep stale entries).
        """
        state = self.states.get(customer_id)
        if state is None:
            return
        plan = self._plan
        for key in list(state.windows):
            stream = plan.streams.get(key)
            if stream is None or prune_stream(state.windows[key], now - stream.horizon) is None:
                del state.windows[key]
        if state.caps:
            for campaign_id in list(state.caps):
                rule = plan.by_campaign.get(campaign_id)
                cap = rule.rule.guards.cap if rule is not None else None
                history = state.caps[campaign_id]
                if cap is not None and cap.per is not None:
                    del history[: bisect_right(history, now - cap.per)]
                if cap is None or not history:
                    del state.caps[campaign_id]
            state.caps = state.caps or None
        if state.offers:
            for offer in list(state.offers):
                limit = plan.offers.get(offer)
                history = state.offers[offer]
                if limit is not None and limit.per is not None:
                    del history[: bisect_right(history, now - limit.per)]
                if limit is None or not history:
                    del state.offers[offer]
            state.offers = state.offers or None
        if state.daily:
            del state.daily[: bisect_right(state.daily, now - 2 * _DAY)]
            state.daily = state.daily or None
        if state.goals:
            for campaign_id in [c for c, goal in state.goals.items() if goal[2] < now]:  # type: ignore[operator]
                del state.goals[campaign_id]
            state.goals = state.goals or None
        if state.is_empty():
            del self.states[customer_id]

    def evict(self, customer_id: str) -> None:
        """Forget a customer (after checkpointing) to bound memory; restore before use."""
        self.states.pop(customer_id, None)

    def customer_ids(self) -> Iterable[str]:
        return self.states.keys()

    def explain(
        self, event: Event, *, campaign_ids: Iterable[int] | None = None
    ) -> list[RuleExplanation]:
        """Why each rule would or would not act on ``event`` now, without changing any state.

        Used by the designer's "test with an event": every rule of the plan (or those in
        ``campaign_ids``) gets a verdict, the conditions with the values seen, and the guards.
        Budgets are not spent.
        """
        scratch = Engine(
            self._plan,
            profiles=self.profiles,
            segments=self.segments,
            scores=self.scores,
            budget=_DryBudget(),
        )
        held = self.states.get(event.customer_id)
        if held is not None:
            scratch.states[event.customer_id] = CustomerState.from_json(held.to_json())
        wanted = set(campaign_ids) if campaign_ids is not None else None
        return scratch._explain_event(event, wanted)

    # --- one pass -----------------------------------------------------------------------------

    def _state(self, customer_id: str) -> CustomerState:
        state = self.states.get(customer_id)
        if state is None:
            state = self.states[customer_id] = CustomerState()
        return state

    def _drain(self) -> None:
        queue = self._queue
        while True:
            while queue:
                event, depth = queue.pop(0)
                self._handle(event, depth)
            if not self._candidates:
                return
            candidates = list(self._candidates)
            self._candidates.clear()  # cleared in place: process() holds a reference
            self._arbitrate(candidates)
            if not queue and not self._candidates:
                return

    def _handle(self, event: Event, depth: int) -> None:
        """Steps 2-5 for one event (the hot path)."""
        index = self._by_type.get(event.type)
        customer_id = event.customer_id
        if index is None:  # no rule, window, unless or goal looks at this type
            if event.type == PROFILE_UPDATED:
                self._profile_changed(customer_id, event.attributes, event.ts)
            return
        state = self.states.get(customer_id)
        if state is not None and depth == 0 and state.timers:
            # this customer's timers due before the event fire first (event-time order);
            # events no rule looks at cannot change what a timer decides, so they skip this
            self._fire_customer_timers(customer_id, state, event.ts)
            state = self.states.get(customer_id)
        if state is not None:
            if state.goals and index.goal_rules:
                self._check_goals(state, event)
            if state.timers and index.unless_rules:
                self._cancel_unless(state, event)
        if event.type == PROFILE_UPDATED:
            self._profile_changed(customer_id, event.attributes, event.ts)
        attrs = event.attributes
        ts = event.ts
        streams = index.streams
        stream_dispatch = index.stream_dispatch
        if streams or stream_dispatch:
            # A customer gets state only once something is recorded: record into a scratch
            # dict when there is none yet, and adopt it if it was used.
            windows = state.windows if state is not None else self._scratch
            changed = False
            for stream in streams:
                if stream.record(windows, attrs, ts):
                    changed = True
            for attribute, table in stream_dispatch:
                value = attrs.get(attribute)
                if value is None:
                    continue
                try:
                    group = table.get(value)
                except TypeError:  # an unhashable value matches no indexed filter
                    continue
                if group:
                    for stream in group:
                        if stream.record(windows, attrs, ts):
                            changed = True
            if changed:
                self._out.dirty.add(customer_id)
                if state is None:
                    state = self.states[customer_id] = CustomerState()
                    state.windows = windows
                    self._scratch = {}
        rules = index.always
        if index.dispatch:
            for attribute, rule_table in index.dispatch:
                value = attrs.get(attribute)
                if value is None:
                    continue
                try:
                    hit = rule_table.get(value)
                except TypeError:  # an unhashable attribute value matches no indexed rule
                    continue
                if hit:
                    found = hit if type(hit) is tuple else hit.lookup(attrs)  # type: ignore[union-attr]  # a SubIndex
                    if found:
                        rules = rules + found if rules else found
        if not rules:
            return
        ctx = None
        for rule in rules:
            matches = rule.matches
            if matches is not None and not matches(attrs):  # type: ignore[operator]
                continue
            if not rule.start_ts <= ts < rule.end_ts:
                continue
            if ctx is None:
                ctx = EvalContext(event.type, attrs, customer_id, state, ts, ts, self._readers)
            test = rule.test
            if test is not None and not test(ctx):  # type: ignore[operator]
                continue
            if rule.rule.waits:
                self._schedule_wait(rule, event)
            else:
                self._decide(rule, event, ctx, None, depth)
            if ctx.state is None:
                ctx.state = self.states.get(customer_id)

    # --- waiting ------------------------------------------------------------------------------

    def _add_timer(self, customer_id: str, state: CustomerState, timer: Timer) -> None:
        if state.timers is None:
            state.timers = {}
        state.timers[timer.timer_id] = timer
        heapq.heappush(self._heap, (timer.due, customer_id, timer.timer_id))
        out = self._out
        out.timers.append(
            TimerScheduled(customer_id, timer.timer_id, timer.due, timer.kind, timer.campaign_id)
        )
        out.dirty.add(customer_id)

    def _schedule_wait(self, rule: PlannedRule, trigger: Event) -> None:
        compiled = rule.rule
        unless = compiled.unless
        customer_id = trigger.customer_id
        state = self._state(customer_id)
        key = None
        if unless is not None and unless.same:
            key = same_key(trigger.attributes, unless.same)
        if state.timers:
            for pending in state.timers.values():
                # One wait per campaign (and 'same' key): a trigger while waiting joins it.
                if (
                    pending.kind == "wait"
                    and pending.campaign_id == rule.campaign_id
                    and pending.unless_key == key
                ):
                    return
        wait = max(compiled.delay or 0.0, unless.within if unless is not None else 0.0)
        timer = Timer(
            timer_id=f"wait:{rule.campaign_id}:{trigger.event_id}",
            kind="wait",
            campaign_id=rule.campaign_id,
            version=rule.version,
            due=trigger.ts + wait,
            trigger=trigger,
            unless_until=trigger.ts + unless.within if unless is not None else None,
            unless_key=key,
            recheck=compiled.delay is not None,
        )
        self._add_timer(customer_id, state, timer)

    def _cancel_unless(self, state: CustomerState, event: Event) -> None:
        timers = state.timers
        assert timers is not None
        by_campaign = self._plan.by_campaign
        cancelled = []
        for timer in timers.values():
            if timer.unless_until is None:
                continue
            rule = by_campaign.get(timer.campaign_id)
            unless = rule.rule.unless if rule is not None else None
            if unless is None or unless.event != event.type:
                continue
            if not timer.trigger.ts <= event.ts <= timer.unless_until:
                continue
            if unless.matches is not None and not unless.matches(event.attributes):
                continue
            if (
                unless.same
                and timer.unless_key is not None
                and same_key(event.attributes, unless.same) != timer.unless_key
            ):
                continue
            cancelled.append(timer.timer_id)
        if cancelled:
            for timer_id in cancelled:
                del timers[timer_id]
            self._out.dirty.add(event.customer_id)

    def _fire_customer_timers(self, customer_id: str, state: CustomerState, before: float) -> None:
        timers = state.timers
        assert timers is not None
        due = sorted(
            (timer for timer in timers.values() if timer.due < before),
            key=lambda timer: (timer.due, timer.timer_id),
        )
        for timer in due:
            if timer.timer_id in timers:
                self._fire_timer(customer_id, state, timer)

    def _fire_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, customer_id, timer_id = heapq.heappop(heap)
            state = self.states.get(customer_id)
            if state is None or not state.timers:
                continue
            timer = state.timers.get(timer_id)
            if timer is None or timer.due != due:
                continue
            self._fire_timer(customer_id, state, timer)

    def _fire_timer(self, customer_id: str, state: CustomerState, timer: Timer) -> None:
        assert state.timers is not None
        del state.timers[timer.timer_id]
        out = self._out
        out.dirty.add(customer_id)
        out.fired += 1
        rule = self._plan.by_campaign.get(timer.campaign_id)
        if rule is None:
            return  # the campaign was paused or archived while the timer waited
        trigger = timer.trigger
        # Conditions are judged at the due time when they are re-checked (delay, date), else at
        # the trigger's time, as they were when the rule started waiting.
        judged_at = timer.due if timer.recheck else trigger.ts
        ctx = EvalContext(
            trigger.type,
            trigger.attributes,
            customer_id,
            state,
            judged_at,
            trigger.ts,
            self._readers,
        )
        if timer.kind == "defer":
            self._decide(rule, trigger, ctx, timer, 0, at=timer.due, skip_quiet=True)
        else:
            if not rule.start_ts <= timer.due < rule.end_ts:
                return
            if timer.recheck and rule.test is not None and not rule.test(ctx):  # type: ignore[operator]
                return
            if timer.kind == "date" and rule.rule.waits:
                self._schedule_wait(rule, trigger)
            else:
                self._decide(rule, trigger, ctx, timer, 0, at=timer.due)
        if self._queue or self._candidates:
            self._drain()

    # --- deciding -----------------------------------------------------------------------------

    def _timezone(self, ctx: EvalContext) -> dt.tzinfo:
        name = ctx.profile().get("timezone")
        tz = zone(name) if isinstance(name, str) else None
        return tz or zone(self._plan.settings.timezone) or dt.UTC

    def _own_guards(
        self,
        rule: PlannedRule,
        ctx: EvalContext,
        state: CustomerState | None,
        at: float,
        skip_quiet: bool,
        items: list[ExplanationItem],
    ) -> tuple[GuardVerdict, SuppressionReason | None, float | None]:
        """Cap, quiet hours and holdout: the guards that depend only on this customer."""
        guards = rule.rule.guards
        cap = guards.cap
        if cap is not None:
            history = state.caps.get(rule.campaign_id) if state and state.caps else None
            used = count_since(history, None if cap.per is None else at - cap.per)
            period = "ever" if cap.per is None else f"per {format_duration(cap.per)}"
            held = used < cap.max
            items.append(
                ExplanationItem(
                    "guard",
                    "guards.cap",
                    f"Cap: at most {cap.max} {period} for this campaign; {used} so far",
                    held,
                    {"so_far": used, "max": cap.max},
                )
            )
            if not held:
                return "suppressed", "cap", None
        quiet = guards.quiet_hours
        if quiet is not None and rule.rule.has_offer and not skip_quiet:
            tz = self._timezone(ctx)
            until = quiet_until(quiet, at, tz)
            clock = local_clock(at, tz)
            items.append(
                ExplanationItem(
                    "guard",
                    "guards.quiet_hours",
                    f"Quiet hours {quiet.text} in the customer's time zone ({tz}): it was {clock}"
                    + ("" if until is None else f"; {quiet.then} until {local_clock(until, tz)}"),
                    until is None,
                    {"local_time": clock, "timezone": str(tz)},
                )
            )
            if until is not None:
                if quiet.then == "defer":
                    return "defer", None, until
                return "suppressed", "quiet_hours", None
        if guards.holdout:
            held_out = is_held_out(guards.holdout, rule.campaign_id, ctx.customer_id)
            items.append(
                ExplanationItem(
                    "guard",
                    "guards.holdout",
                    f"Holdout: {guards.holdout:.0%} of customers form the control group; this "
                    f"customer is {'in' if held_out else 'not in'} it",
                    not held_out,
                    {"held_out": held_out},
                )
            )
            if held_out:
                return "held_out", None, None
        return "pass", None, None

    def _shared_guards(
        self,
        rule: PlannedRule,
        ctx: EvalContext,
        state: CustomerState | None,
        at: float,
        actions: tuple[Action, ...],
        items: list[ExplanationItem],
        spend: bool,
    ) -> SuppressionReason | None:
        """Arbitration (daily cap by priority), the offer's own limit, then budget."""
        guards = rule.rule.guards
        cap = guards.cap
        if cap is not None:  # again: an earlier winner in this pass may be the same campaign
            history = state.caps.get(rule.campaign_id) if state and state.caps else None
            if count_since(history, None if cap.per is None else at - cap.per) >= cap.max:
                items.append(
                    ExplanationItem(
                        "guard", "guards.cap", "Cap: reached earlier in this pass", False, {}
                    )
                )
                return "cap"
        daily_cap = self._plan.settings.daily_offer_cap
        if daily_cap:
            day_start = local_day_start(at, self._timezone(ctx))
            today = count_since(state.daily if state else None, day_start - 1e-9)
            held = today < daily_cap
            items.append(
                ExplanationItem(
                    "guard",
                    "guards.priority",
                    f"Daily cap: at most {daily_cap} offers per customer per day across campaigns, "
                    f"higher priority first (this campaign: {rule.priority}); {today} today",
                    held,
                    {"today": today, "daily_cap": daily_cap, "priority": rule.priority},
                )
            )
            if not held:
                return "arbitration"
        offers = self._plan.offers
        for action in actions:
            if not isinstance(action, OfferAction):
                continue
            limit = offers.get(action.offer)
            if limit is None:
                continue
            history = state.offers.get(action.offer) if state and state.offers else None
            used = count_since(history, None if limit.per is None else at - limit.per)
            period = "ever" if limit.per is None else f"per {format_duration(limit.per)}"
            held = used < limit.max
            items.append(
                ExplanationItem(
                    "guard",
                    "actions",
                    f"Offer '{action.offer}': at most {limit.max} {period} per customer, across "
                    f"campaigns; {used} so far",
                    held,
                    {"so_far": used, "max": limit.max},
                )
            )
            if not held:
                return "offer_limit"
        if guards.budget is not None:
            ok = self.budget.try_spend(rule.campaign_id, guards.budget) if spend else True
            items.append(
                ExplanationItem(
                    "guard",
                    "guards.budget",
                    f"Budget: at most {guards.budget} offers for this campaign"
                    + ("" if ok else "; all issued")
                    + ("" if spend else " (checked when sent)"),
                    ok,
                    {"max_offers": guards.budget},
                )
            )
            if not ok:
                return "budget"
        return None

    def _decide(
        self,
        rule: PlannedRule,
        trigger: Event,
        ctx: EvalContext,
        timer: Timer | None,
        depth: int,
        *,
        at: float | None = None,
        skip_quiet: bool = False,
    ) -> None:
        """Guards and outcome for a rule whose conditions held (``at``: decision moment)."""
        if at is None:
            at = ctx.at
        customer_id = trigger.customer_id
        state = self.states.get(customer_id)
        compiled = rule.rule
        variant = pick_variant(compiled.variants, rule.campaign_id, customer_id)
        actions = _render(variant.actions, trigger)
        items: list[ExplanationItem] = []
        verdict, reason, until = self._own_guards(rule, ctx, state, at, skip_quiet, items)
        variant_name = variant.name or None
        if verdict == "defer":
            assert until is not None
            deferred = Timer(
                timer_id=f"defer:{rule.campaign_id}:{trigger.event_id}",
                kind="defer",
                campaign_id=rule.campaign_id,
                version=rule.version,
                due=until,
                trigger=trigger,
            )
            state = self._state(customer_id)
            if not state.timers or deferred.timer_id not in state.timers:
                self._add_timer(customer_id, state, deferred)
            return
        if verdict == "suppressed":
            self._record(
                rule, trigger, ctx, timer, at, "suppressed", reason, variant_name, actions, items
            )
            return
        if verdict == "held_out":
            self._record(
                rule, trigger, ctx, timer, at, "held_out", None, variant_name, actions, items
            )
            return
        candidate = _Candidate(rule, trigger, ctx, timer, at, variant_name, actions, items, depth)
        if compiled.has_offer:
            self._candidates.append(candidate)  # arbitration at the end of the pass
        else:
            self._grant(candidate)

    def _arbitrate(self, candidates: list[_Candidate]) -> None:
        candidates.sort(key=lambda candidate: candidate.rule.order)  # priority, then campaign
        for candidate in candidates:
            state = self.states.get(candidate.trigger.customer_id)
            reason = self._shared_guards(
                candidate.rule,
                candidate.ctx,
                state,
                candidate.at,
                candidate.actions,
                candidate.items,
                spend=True,
            )
            if reason is not None:
                self._record(
                    candidate.rule,
                    candidate.trigger,
                    candidate.ctx,
                    candidate.timer,
                    candidate.at,
                    "suppressed",
                    reason,
                    candidate.variant_name,
                    candidate.actions,
                    candidate.items,
                )
            else:
                self._grant(candidate)

    def _grant(self, candidate: _Candidate) -> None:
        decision = self._record(
            candidate.rule,
            candidate.trigger,
            candidate.ctx,
            candidate.timer,
            candidate.at,
            "offer",
            None,
            candidate.variant_name,
            candidate.actions,
            candidate.items,
        )
        customer_id = decision.customer_id
        at = decision.occurred_at
        out = self._out
        for position, action in enumerate(candidate.actions):
            if isinstance(action, OfferAction):
                if self._plan.settings.daily_offer_cap:
                    state = self._state(customer_id)
                    if state.daily is None:
                        state.daily = []
                    remember(state.daily, at, at - 2 * _DAY)
                    out.dirty.add(customer_id)
                limit = self._plan.offers.get(action.offer)
                if limit is not None:
                    state = self._state(customer_id)
                    out.dirty.add(customer_id)
                    if state.offers is None:
                        state.offers = {}
                    history = state.offers.setdefault(action.offer, [])
                    remember(history, at, None if limit.per is None else at - limit.per)
            elif isinstance(action, SetProfileAction):
                overlay = self._facts.setdefault(customer_id, {})
                overlay.update(action.facts)
                out.profile_updates.append(
                    ProfileUpdate(customer_id, action.facts, decision.decision_id, at)
                )
                candidate.ctx.forget_profile()
                self._facts_changed(customer_id, action.facts, at)
            elif isinstance(action, EmitAction):
                emitted = Event(
                    event_id=str(
                        uuid.uuid5(ENGINE_NAMESPACE, f"{decision.decision_id}:emit:{position}")
                    ),
                    type=action.event,
                    customer_id=customer_id,
                    ts=at,
                    attributes=action.attributes,
                )
                out.emitted.append(emitted)
                depth = candidate.depth + 1
                if depth > self._plan.settings.max_chain_depth:
                    out.warnings.append(
                        f"campaign {candidate.rule.campaign_id}: derived event '{action.event}' "
                        f"not evaluated: more than {self._plan.settings.max_chain_depth} chained "
                        "steps"
                    )
                else:
                    self._queue.append((emitted, depth))

    def _record(
        self,
        rule: PlannedRule,
        trigger: Event,
        ctx: EvalContext,
        timer: Timer | None,
        at: float,
        outcome: Outcome,
        reason: SuppressionReason | None,
        variant: str | None,
        actions: tuple[Action, ...],
        guard_items: list[ExplanationItem],
    ) -> Decision:
        """Build the decision; for offers and held-out ones, count the cap and track the goal."""
        customer_id = trigger.customer_id
        timer_id = timer.timer_id if timer is not None else None
        decision_id = decision_id_for(
            rule.campaign_id, rule.version, customer_id, trigger.event_id, timer_id or ""
        )
        decision = Decision(
            decision_id=decision_id,
            campaign_id=rule.campaign_id,
            version=rule.version,
            customer_id=customer_id,
            trigger_event_id=trigger.event_id,
            outcome=outcome,
            suppression_reason=reason,
            variant=variant,
            actions=actions,
            explanation=tuple(self._explanation(rule, trigger, ctx, timer) + guard_items),
            occurred_at=at,
            timer_id=timer_id,
            priority=rule.priority,
        )
        out = self._out
        out.decisions.append(decision)
        compiled = rule.rule
        if outcome != "suppressed" and (compiled.guards.cap is not None or compiled.goal):
            state = self._state(customer_id)
            if compiled.guards.cap is not None:
                if state.caps is None:
                    state.caps = {}
                per = compiled.guards.cap.per
                remember(
                    state.caps.setdefault(rule.campaign_id, []),
                    at,
                    None if per is None else at - per,
                )
            if compiled.goal is not None:
                if state.goals is None:
                    state.goals = {}
                state.goals[rule.campaign_id] = [
                    decision_id,
                    at,
                    at + compiled.goal.within,
                    outcome,
                ]
            out.dirty.add(customer_id)
        return decision

    def _explanation(
        self, rule: PlannedRule, trigger: Event, ctx: EvalContext, timer: Timer | None
    ) -> list[ExplanationItem]:
        compiled = rule.rule
        items = [_trigger_item(rule, trigger)]
        if compiled.conditions is not None:
            items.extend(compiled.conditions.explain(ctx))
        if timer is not None and timer.kind == "wait":
            if compiled.unless is not None:
                items.append(
                    ExplanationItem(
                        "wait",
                        "unless",
                        f"Unless: no '{compiled.unless.event}' arrived within "
                        f"{format_duration(compiled.unless.within)} after the trigger",
                        True,
                        {},
                    )
                )
            if compiled.delay is not None:
                items.append(
                    ExplanationItem(
                        "wait",
                        "delay",
                        f"Delay: acted {format_duration(compiled.delay)} after the trigger; "
                        "conditions checked again then",
                        True,
                        {},
                    )
                )
        if timer is not None and timer.kind == "defer":
            items.append(
                ExplanationItem(
                    "wait", "guards.quiet_hours", "Quiet hours: deferred until they ended", True, {}
                )
            )
        return items

    # --- goals and profile facts --------------------------------------------------------------

    def _check_goals(self, state: CustomerState, event: Event) -> None:
        goals = state.goals
        assert goals is not None
        by_campaign = self._plan.by_campaign
        finished = []
        for campaign_id, pending in goals.items():
            decision_id, decided_at, deadline, outcome = pending
            if event.ts > deadline:  # type: ignore[operator]
                finished.append(campaign_id)
                continue
            rule = by_campaign.get(campaign_id)
            goal = rule.rule.goal if rule is not None else None
            if goal is None:
                finished.append(campaign_id)
                continue
            if goal.event != event.type or event.ts < decided_at:  # type: ignore[operator]
                continue
            if goal.matches is not None and not goal.matches(event.attributes):
                continue
            revenue = event.attributes.get(goal.revenue) if goal.revenue else None
            self._out.conversions.append(
                Conversion(
                    decision_id=str(decision_id),
                    campaign_id=campaign_id,
                    customer_id=event.customer_id,
                    event_id=event.event_id,
                    revenue=float(revenue) if type(revenue) in NUMBER_TYPES else None,  # type: ignore[arg-type]
                    ts=event.ts,
                    outcome=outcome,  # type: ignore[arg-type]
                )
            )
            finished.append(campaign_id)
        if finished:
            for campaign_id in finished:
                del goals[campaign_id]
            self._out.dirty.add(event.customer_id)

    def _profile_changed(self, customer_id: str, facts: Mapping[str, object], at: float) -> None:
        self._facts.setdefault(customer_id, {}).update(facts)
        self._facts_changed(customer_id, facts, at)

    def _facts_changed(self, customer_id: str, facts: Mapping[str, object], at: float) -> None:
        date_rules = self._plan.date_rules
        if not date_rules:
            return
        for name, value in facts.items():
            for rule in date_rules.get(name, ()):
                self._schedule_date(rule, customer_id, name, value, at)

    def _schedule_date(
        self, rule: PlannedRule, customer_id: str, name: str, value: object, at: float
    ) -> None:
        trigger = rule.rule.trigger
        assert isinstance(trigger, DateTrigger)
        state = self._state(customer_id)
        text = None if value is None else str(value)
        dates = state.dates if state.dates is not None else {}
        if dates.get(rule.campaign_id) == text:
            return  # this date value was already scheduled or fired: once per value
        if state.timers:
            for timer_id in [
                t.timer_id
                for t in state.timers.values()
                if t.kind == "date" and t.campaign_id == rule.campaign_id
            ]:
                del state.timers[timer_id]
        self._out.dirty.add(customer_id)
        instant = to_instant(value)
        if text is None or instant is None:
            dates.pop(rule.campaign_id, None)
            state.dates = dates or None
            return
        start, date_only = instant
        if date_only:  # a calendar date means that day in the customer's own time zone
            day = dt.date.fromisoformat(str(value))
            ctx = EvalContext(PROFILE_UPDATED, _EMPTY, customer_id, state, at, at, self._readers)
            start = local_midnight(day, self._timezone(ctx))
        end = start + _DAY if date_only else start
        dates[rule.campaign_id] = text
        state.dates = dates
        due = start + trigger.offset
        if due < at:
            if end < at:
                return  # the date itself is past: nothing to remind of
            due = at
        event = Event(
            f"date:{rule.campaign_id}:{text}", PROFILE_UPDATED, customer_id, due, {name: value}
        )
        self._add_timer(
            customer_id,
            state,
            Timer(
                timer_id=event.event_id,
                kind="date",
                campaign_id=rule.campaign_id,
                version=rule.version,
                due=due,
                trigger=event,
                recheck=True,
            ),
        )

    # --- explain (non-decisions) ----------------------------------------------------------------

    def _explain_event(self, event: Event, wanted: set[int] | None) -> list[RuleExplanation]:
        self._out = _Out()
        customer_id = event.customer_id
        state = self.states.get(customer_id)
        if state is not None and state.timers:
            self._fire_customer_timers(customer_id, state, event.ts)
        if event.type == PROFILE_UPDATED:
            self._facts.setdefault(customer_id, {}).update(event.attributes)
        index = self._plan.index_for(event.type)
        if index.streams or index.stream_dispatch:
            state = self._state(customer_id)
            for stream in index.all_streams:
                stream.record(state.windows, event.attributes, event.ts)
        state = self.states.get(customer_id)
        results = []
        for rule in self._plan.rules:
            if wanted is None or rule.campaign_id in wanted:
                results.append(self._explain_rule(rule, event, state))
        return results

    def _explain_rule(
        self, rule: PlannedRule, event: Event, state: CustomerState | None
    ) -> RuleExplanation:
        compiled = rule.rule

        def verdict(
            kind: RuleVerdict,
            summary: str,
            items: list[ExplanationItem],
            reason: SuppressionReason | None = None,
        ) -> RuleExplanation:
            return RuleExplanation(
                rule.campaign_id,
                rule.version,
                compiled.name,
                event.customer_id,
                event.event_id,
                kind,
                summary,
                tuple(items),
                reason,
            )

        trigger = compiled.trigger
        if not isinstance(trigger, EventTrigger):
            return verdict(
                "not_triggered",
                f"This rule starts on the date in profile field "
                f"'{trigger.attribute}', not on events.",
                [],
            )
        if trigger.event != event.type:
            return verdict(
                "not_triggered",
                f"This rule starts on '{trigger.event}' events, not '{event.type}'.",
                [],
            )
        ctx = EvalContext(
            event.type,
            event.attributes,
            event.customer_id,
            state,
            event.ts,
            event.ts,
            self._readers,
        )
        items: list[ExplanationItem] = []
        if trigger.where is not None:
            where_items = trigger.where.explain(ctx)
            items.extend(where_items)
            if not where_items[0].held:
                failed = _first_failure(where_items)
                return verdict(
                    "conditions_failed", f"The event does not match the trigger: {failed}", items
                )
        else:
            items.append(_trigger_item(rule, event))
        if not rule.start_ts <= event.ts < rule.end_ts:
            items.append(
                ExplanationItem(
                    "schedule",
                    "schedule",
                    "Schedule: the campaign is not running at this time",
                    False,
                    {},
                )
            )
            return verdict("outside_schedule", "The campaign is not running at this time.", items)
        if compiled.conditions is not None:
            condition_items = compiled.conditions.explain(ctx)
            items.extend(condition_items)
            if not condition_items[0].held:
                return verdict(
                    "conditions_failed", "Not met: " + _first_failure(condition_items), items
                )
        if compiled.waits:
            waits = []
            if compiled.unless is not None:
                waits.append(
                    f"no '{compiled.unless.event}' arrives within "
                    f"{format_duration(compiled.unless.within)}"
                )
            if compiled.delay is not None:
                waits.append(
                    f"{format_duration(compiled.delay)} have passed (conditions are "
                    "checked again then)"
                )
            text = "Conditions hold; it acts once " + " and ".join(waits) + "."
            items.append(
                ExplanationItem("wait", "unless" if compiled.unless else "delay", text, True, {})
            )
            return verdict("waiting", text, items)
        guard_items: list[ExplanationItem] = []
        kind, reason, _ = self._own_guards(rule, ctx, state, event.ts, False, guard_items)
        items.extend(guard_items)
        if kind == "defer":
            return verdict(
                "waiting", "Conditions hold; quiet hours defer it until they end.", items
            )
        if kind == "suppressed":
            return verdict(
                "suppressed", f"Conditions hold but it is suppressed ({reason}).", items, reason
            )
        if kind == "held_out":
            return verdict(
                "held_out", "Conditions hold; the customer is in the control group.", items
            )
        if compiled.has_offer:
            variant = pick_variant(compiled.variants, rule.campaign_id, event.customer_id)
            shared: list[ExplanationItem] = []
            reason = self._shared_guards(
                rule, ctx, state, event.ts, variant.actions, shared, spend=False
            )
            items.extend(shared)
            if reason is not None:
                return verdict(
                    "suppressed", f"Conditions hold but it is suppressed ({reason}).", items, reason
                )
        return verdict("offer", "Conditions hold; it would act now.", items)


def _first_failure(items: list[ExplanationItem]) -> str:
    failures = [item for item in items if not item.held]
    # the deepest failing item names the actual condition, not the group around it
    return failures[-1].text if failures else ""


def _trigger_item(rule: PlannedRule, trigger: Event) -> ExplanationItem:
    return ExplanationItem(
        "trigger",
        "trigger",
        rule.trigger_text,
        True,
        {"event_id": trigger.event_id, "event": trigger.type},
    )


_PLACEHOLDER_START = "{"


def _render(actions: tuple[Action, ...], trigger: Event) -> tuple[Action, ...]:
    """Fill ``{attribute}`` / ``{customer_id}`` in staff messages from the trigger (plain text:
    no format specs, no attribute access, so a message cannot reach into objects)."""
    if not any(
        isinstance(action, NotifyStaffAction) and _PLACEHOLDER_START in action.message
        for action in actions
    ):
        return actions
    values = {key: value for key, value in trigger.attributes.items()}
    values["customer_id"] = trigger.customer_id
    rendered: list[Action] = []
    for action in actions:
        if isinstance(action, NotifyStaffAction) and _PLACEHOLDER_START in action.message:
            message = _fill(action.message, values)
            rendered.append(NotifyStaffAction(action.team, message))
        else:
            rendered.append(action)
    return tuple(rendered)


def _fill(template: str, values: Mapping[str, object]) -> str:
    parts: list[str] = []
    position = 0
    while True:
        start = template.find("{", position)
        if start < 0:
            parts.append(template[position:])
            return "".join(parts)
        end = template.find("}", start)
        if end < 0:
            parts.append(template[position:])
            return "".join(parts)
        name = template[start + 1 : end]
        parts.append(template[position:start])
        if name in values and name.isidentifier():
            value = values[name]
            parts.append("" if value is None else str(value))
        else:
            parts.append(template[start : end + 1])
        position = end + 1


__all__ = ["Engine"]
