"""A set of live campaigns -> one :class:`Plan`, indexed by event type.

An event touches only: the streams that record its type, the rules it can trigger (looked up
by the value of an indexed trigger attribute when the trigger filter pins one), and the
unless / goal watchers of its type.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .compiler import (
    Backend,
    CompiledRule,
    DateTrigger,
    EventTrigger,
    compile_spec,
    index_keys,
    indexable_trigger,
)
from .conditions import EvalContext, ProfileCondition, ScoreCondition, SegmentCondition, Stream
from .durations import format_duration
from .errors import SpecError, SpecErrors
from .model import SetProfileAction


@dataclass(frozen=True, slots=True)
class RuleSource:
    """One published campaign version. ``priority`` overrides the spec's guard when set."""

    campaign_id: int
    version: int
    spec: Mapping[str, object]
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class OfferLimit:
    """An offer's own per-customer limit, shared by every campaign that sends it."""

    max: int
    per: float | None  # seconds; None = ever


@dataclass(frozen=True, slots=True)
class PlanSettings:
    #: Time zone for customers without a ``timezone`` profile attribute, and for schedules.
    timezone: str = "Asia/Seoul"
    #: Platform-wide cap of offers per customer per local day; priority arbitrates.
    daily_offer_cap: int = 3
    #: How many times derived events may chain within one pass.
    max_chain_depth: int = 8


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True, slots=True, eq=False)
class PlannedRule:
    campaign_id: int
    version: int
    priority: int
    rule: CompiledRule
    start_ts: float
    end_ts: float
    order: int
    # copied from ``rule`` so the hot loop reads one attribute, not two
    matches: object = field(default=None, repr=False)
    test: object = field(default=None, repr=False)
    trigger_text: str = ""

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True, slots=True)
class EventTypeIndex:
    """What one event type touches. ``*_dispatch`` map (attribute, value) to the streams or
    rules whose filter pins that attribute to that value (an alpha index: cost grows with the
    rules that can match, not with all rules of the type)."""

    streams: tuple[Stream, ...]
    always: tuple[PlannedRule, ...]
    dispatch: tuple[tuple[str, Mapping[object, tuple[PlannedRule, ...] | SubIndex]], ...]
    unless_rules: tuple[PlannedRule, ...]
    goal_rules: tuple[PlannedRule, ...]
    stream_dispatch: tuple[tuple[str, Mapping[object, tuple[Stream, ...]]], ...] = ()

    @property
    def all_streams(self) -> tuple[Stream, ...]:
        indexed = [
            s for _, table in self.stream_dispatch for group in table.values() for s in group
        ]
        return self.streams + tuple(dict.fromkeys(indexed))


_EMPTY_INDEX = EventTypeIndex((), (), (), (), ())


@dataclass(frozen=True, slots=True)
class Plan:
    rules: tuple[PlannedRule, ...]
    by_type: Mapping[str, EventTypeIndex]
    by_campaign: Mapping[int, PlannedRule]
    date_rules: Mapping[str, tuple[PlannedRule, ...]]  # profile field -> rules
    settings: PlanSettings
    offers: Mapping[str, OfferLimit]
    streams: Mapping[str, Stream]
    #: whether any rule reads profiles (conditions, time zones for quiet hours and daily caps,
    #: date triggers), segments or scores: a driver prefetches only what will be read
    reads_profiles: bool = True
    reads_segments: bool = True
    reads_scores: bool = True

    def index_for(self, event_type: str) -> EventTypeIndex:
        return self.by_type.get(event_type, _EMPTY_INDEX)


def _schedule_bounds(rule: CompiledRule, tz_name: str) -> tuple[float, float]:
    tz = zone(tz_name) or dt.UTC
    start = -math.inf
    end = math.inf
    if rule.schedule_start is not None:
        day = rule.schedule_start
        start = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    if rule.schedule_end is not None:
        day = rule.schedule_end + dt.timedelta(days=1)  # the end date is included
        end = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
    return start, end


def build_plan(
    sources: Iterable[RuleSource],
    *,
    offers: Mapping[str, OfferLimit] | None = None,
    settings: PlanSettings | None = None,
    event_types: Mapping[str, Mapping[str, str]] | None = None,
    profile_attributes: Mapping[str, str] | None = None,
    backend: Backend = "codegen",
) -> Plan:
    """Compile and index live campaigns; raises :class:`SpecErrors` (all problems at once)."""
    settings = settings or PlanSettings()
    errors: list[SpecError] = []
    compiled: list[tuple[RuleSource, CompiledRule]] = []
    seen: set[int] = set()
    for source in sources:
        if source.campaign_id in seen:
            errors.append(SpecError("", f"Campaign {source.campaign_id} is listed twice."))
            continue
        seen.add(source.campaign_id)
        try:
            rule = _compile_cached(source.spec, event_types, profile_attributes, backend)
        except SpecErrors as failure:
            for error in failure.errors:
                errors.append(
                    SpecError(
                        error.path, f"Campaign {source.campaign_id}: {error.message}", error.code
                    )
                )
            continue
        compiled.append((source, rule))
    errors.extend(rule_cycles([(source.campaign_id, rule) for source, rule in compiled]))
    if errors:
        raise SpecErrors(errors)

    ordered = sorted(
        compiled,
        key=lambda pair: (
            -(pair[0].priority if pair[0].priority is not None else pair[1].guards.priority),
            pair[0].campaign_id,
        ),
    )
    # How selective each pinned trigger attribute is, per event type: the index prefers the
    # attribute with the most distinct values (region 25, shop type 40 -> index on shop type).
    distinct: dict[tuple[str, str], set[object]] = {}
    for _, rule in ordered:
        if isinstance(rule.trigger, EventTrigger):
            for name, values, _item in index_keys(rule.trigger.where):
                distinct.setdefault((rule.trigger.event, name), set()).update(
                    value for value in values if _hashable(value)
                )
    planned: list[PlannedRule] = []
    indexes: dict[int, tuple[str, tuple[object, ...]]] = {}
    for order, (source, rule) in enumerate(ordered):
        start, end = _schedule_bounds(rule, settings.timezone)
        priority = source.priority if source.priority is not None else rule.guards.priority
        matches = rule.trigger.matches if isinstance(rule.trigger, EventTrigger) else None
        if isinstance(rule.trigger, EventTrigger):
            event_name = rule.trigger.event

            def selectivity(name: str, event_name: str = event_name) -> float:
                return float(len(distinct.get((event_name, name), ())))

            indexed = indexable_trigger(rule.trigger.where, selectivity)
            if indexed is not None:
                indexes[source.campaign_id] = indexed[:2]
                matches = indexed[2]  # the index already checked the pinned attribute
        planned.append(
            PlannedRule(
                source.campaign_id,
                source.version,
                priority,
                rule,
                start,
                end,
                order,
                matches,
                rule.test,
            )
        )

    # One stream per key, kept long enough for its longest window plus any wait before the
    # rule decides (explanations re-read windows when a timer fires).
    streams: dict[str, Stream] = {}
    for item in planned:
        rule = item.rule
        extra = max(rule.delay or 0.0, rule.unless.within if rule.unless else 0.0)
        for stream in rule.streams:
            horizon = stream.horizon + extra
            known = streams.get(stream.key)
            if known is None or known.horizon < horizon:
                streams[stream.key] = stream.with_horizon(horizon)

    # A window kept per key ("same": ["screen"]) is only ever read with the trigger's value of
    # that key. When every rule using it pins that attribute in its trigger (screen = X), the
    # stream need only record those values: less state and less work per event.
    key_values: dict[str, set[object] | None] = {}
    for item in planned:
        trigger = item.rule.trigger
        pinned: dict[str, tuple[object, ...]] = {}
        if isinstance(trigger, EventTrigger):
            pinned = {name: values for name, values, _ in index_keys(trigger.where)}
        for stream in item.rule.streams:
            pinned_values = pinned.get(stream.same[0]) if len(stream.same) == 1 else None
            if pinned_values is None or not all(_hashable(value) for value in pinned_values):
                key_values[stream.key] = None
            elif key_values.get(stream.key, set()) is not None:
                key_values.setdefault(stream.key, set()).update(pinned_values)  # type: ignore[union-attr]  # not None here

    by_type: dict[str, EventTypeIndex] = {}
    event_types_seen: set[str] = {s.event for s in streams.values()}
    for item in planned:
        rule = item.rule
        if rule.trigger_event:
            event_types_seen.add(rule.trigger_event)
        if rule.unless:
            event_types_seen.add(rule.unless.event)
        if rule.goal:
            event_types_seen.add(rule.goal.event)
    for event_type in sorted(event_types_seen):
        triggered = [p for p in planned if p.rule.trigger_event == event_type]
        always: list[PlannedRule] = []
        tables: dict[str, dict[object, list[PlannedRule]]] = {}
        for item in triggered:
            key = indexes.get(item.campaign_id)
            if key is None:
                always.append(item)
                continue
            attribute, values = key
            table = tables.setdefault(attribute, {})
            for value in dict.fromkeys(values):
                table.setdefault(value, []).append(item)
        plain_streams: list[Stream] = []
        stream_tables: dict[str, dict[object, list[Stream]]] = {}
        for stream in streams.values():
            if stream.event != event_type:
                continue
            restricted = key_values.get(stream.key)
            indexed = indexable_trigger(stream.where_condition)
            if restricted is not None:
                attribute, values, residual = stream.same[0], tuple(restricted), stream.where
            elif indexed is None:
                plain_streams.append(stream)
                continue
            else:
                attribute, values, residual = indexed
            residual_stream = Stream(
                stream.key,
                stream.event,
                residual,
                stream.where_condition,
                stream.same,
                stream.value_attr,
                stream.horizon,
            )
            stream_table = stream_tables.setdefault(attribute, {})
            for value in dict.fromkeys(values):
                stream_table.setdefault(value, []).append(residual_stream)
        by_type[event_type] = EventTypeIndex(
            streams=tuple(plain_streams),
            stream_dispatch=tuple(
                (attribute, {value: tuple(group) for value, group in table.items()})
                for attribute, table in sorted(stream_tables.items())
            ),
            always=tuple(always),
            dispatch=tuple(
                (
                    attribute,
                    {
                        value: _refine(rules, attribute, event_type)
                        for value, rules in table.items()
                    },
                )
                for attribute, table in sorted(tables.items())
            ),
            unless_rules=tuple(
                p for p in planned if p.rule.unless and p.rule.unless.event == event_type
            ),
            goal_rules=tuple(p for p in planned if p.rule.goal and p.rule.goal.event == event_type),
        )
    date_rules: dict[str, list[PlannedRule]] = {}
    for item in planned:
        if isinstance(item.rule.trigger, DateTrigger):
            date_rules.setdefault(item.rule.trigger.attribute, []).append(item)
    return Plan(
        rules=tuple(planned),
        by_type=by_type,
        by_campaign={item.campaign_id: item for item in planned},
        date_rules={name: tuple(rules) for name, rules in date_rules.items()},
        settings=settings,
        offers=dict(offers or {}),
        streams=streams,
        reads_profiles=any(_reads(item.rule, (ProfileCondition,)) for item in planned)
        or bool(date_rules)
        or any(
            item.rule.has_offer and (item.rule.guards.quiet_hours or settings.daily_offer_cap)
            for item in planned
        ),
        reads_segments=any(_reads(item.rule, (SegmentCondition,)) for item in planned),
        reads_scores=any(_reads(item.rule, (ScoreCondition,)) for item in planned),
    )


def _reads(rule: CompiledRule, kinds: tuple[type, ...]) -> bool:
    pending = [rule.conditions] if rule.conditions is not None else []
    while pending:
        condition = pending.pop()
        if isinstance(condition, kinds):
            return True
        pending.extend(condition.children())
    return False


_COMPILED: OrderedDict[str, CompiledRule] = OrderedDict()
_COMPILED_LIMIT = 20_000


def _compile_cached(
    spec: Mapping[str, object],
    event_types: Mapping[str, Mapping[str, str]] | None,
    profile_attributes: Mapping[str, str] | None,
    backend: Backend,
) -> CompiledRule:
    """Compiled rules are immutable, so a plan rebuilt on every publish (hot reload of 3,000
    campaigns) reuses those whose spec and registries did not change."""
    try:
        key = json.dumps([spec, event_types, profile_attributes, backend], sort_keys=True)
    except (TypeError, ValueError):  # not plain JSON: compile_spec reports what is wrong
        return compile_spec(
            spec, event_types=event_types, profile_attributes=profile_attributes, backend=backend
        )
    rule = _COMPILED.get(key)
    if rule is None:
        rule = compile_spec(
            spec, event_types=event_types, profile_attributes=profile_attributes, backend=backend
        )
        _COMPILED[key] = rule
        if len(_COMPILED) > _COMPILED_LIMIT:
            _COMPILED.popitem(last=False)
    else:
        _COMPILED.move_to_end(key)
    return rule


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class SubIndex:
    """A second level of the alpha index for a crowded bucket (many rules pin the first
    attribute to the same value): looks up a second pinned attribute. ``table[value]`` and
    ``rest`` are complete, ordered candidate lists, so the hot path never concatenates."""

    __slots__ = ("attribute", "rest", "table")

    def __init__(
        self,
        attribute: str,
        table: dict[object, tuple[PlannedRule, ...]],
        rest: tuple[PlannedRule, ...],
    ) -> None:
        self.attribute = attribute
        self.table = table
        self.rest = rest

    def lookup(self, attrs: Mapping[str, object]) -> tuple[PlannedRule, ...]:
        value = attrs.get(self.attribute)
        if value is None:
            return self.rest
        try:
            return self.table.get(value, self.rest)
        except TypeError:  # unhashable value: only the rules that do not pin it
            return self.rest


def _refine(
    rules: list[PlannedRule], used: str, event_type: str
) -> tuple[PlannedRule, ...] | SubIndex:
    if len(rules) <= 4:
        return tuple(rules)
    keys: dict[str, dict[object, list[PlannedRule]]] = {}
    for item in rules:
        where = item.rule.trigger.where if isinstance(item.rule.trigger, EventTrigger) else None
        for name, values, _ in index_keys(where):
            if name != used:
                bucket = keys.setdefault(name, {})
                for value in dict.fromkeys(v for v in values if _hashable(v)):
                    bucket.setdefault(value, []).append(item)
    if not keys:
        return tuple(rules)
    attribute = max(sorted(keys), key=lambda name: len(keys[name]))
    pinned = {id(item) for group in keys[attribute].values() for item in group}
    rest = tuple(item for item in rules if id(item) not in pinned)
    table = {
        value: tuple(sorted([*group, *rest], key=lambda item: item.order))
        for value, group in keys[attribute].items()
    }
    return SubIndex(attribute, table, rest)


def _trigger_text(rule: CompiledRule) -> str:
    trigger = rule.trigger
    if isinstance(trigger, DateTrigger):
        offset = trigger.offset
        if offset == 0:
            when = "on"
        elif offset < 0:
            when = f"{format_duration(-offset)} before"
        else:
            when = f"{format_duration(offset)} after"
        return f"Trigger: {when} the date in profile '{trigger.attribute}'"
    text = f"Trigger: a '{trigger.event}' event"
    if trigger.where is not None:
        text += f" where {trigger.where.describe()}"
    return text


def rule_cycles(rules: Sequence[tuple[int, CompiledRule]]) -> list[SpecError]:
    """Loops between rules: A emits an event (or sets a date fact) that triggers B ... A.

    Checked statically and conservatively (filters are ignored): a loop that might only
    sometimes close is still rejected, because at run time it would be cut at an arbitrary
    depth. Use this at publish time with the draft plus every live campaign.
    """
    triggers: dict[str, list[int]] = {}
    date_watchers: dict[str, list[int]] = {}
    for campaign_id, rule in rules:
        if isinstance(rule.trigger, EventTrigger):
            triggers.setdefault(rule.trigger.event, []).append(campaign_id)
        else:
            date_watchers.setdefault(rule.trigger.attribute, []).append(campaign_id)
    edges: dict[int, list[tuple[int, str]]] = {}
    for campaign_id, rule in rules:
        targets: list[tuple[int, str]] = []
        for event in rule.emits:
            targets.extend((target, f"event '{event}'") for target in triggers.get(event, ()))
        facts = {
            name
            for variant in rule.variants
            for action in variant.actions
            if isinstance(action, SetProfileAction)
            for name in action.facts
        }
        for name in sorted(facts):
            targets.extend((target, f"fact '{name}'") for target in date_watchers.get(name, ()))
        edges[campaign_id] = targets
    errors: list[SpecError] = []
    reported: set[frozenset[int]] = set()
    colour: dict[int, int] = {}
    stack: list[tuple[int, str]] = []

    def visit(node: int) -> None:
        colour[node] = 1
        for target, via in edges.get(node, ()):
            if colour.get(target) == 1:
                start = (
                    next(i for i, (n, _) in enumerate(stack) if n == target)
                    if any(n == target for n, _ in stack)
                    else len(stack)
                )
                loop = [*stack[start:], (node, via)]
                members = frozenset(n for n, _ in loop) | {target}
                if members not in reported:
                    reported.add(members)
                    steps = " → ".join(f"campaign {n} (via {v})" for n, v in loop)
                    errors.append(
                        SpecError(
                            "actions",
                            f"These campaigns trigger each other in a loop: {steps} → campaign "
                            f"{target}. Remove one of the emitted events or facts.",
                            "rule_cycle",
                        )
                    )
            elif colour.get(target) is None:
                stack.append((node, via))
                visit(target)
                stack.pop()
        colour[node] = 2

    for campaign_id, _ in rules:
        if campaign_id not in colour:
            visit(campaign_id)
    return errors


def rule_is_active(rule: PlannedRule, ts: float) -> bool:
    return rule.start_ts <= ts < rule.end_ts


__all__ = [
    "EvalContext",
    "EventTypeIndex",
    "OfferLimit",
    "Plan",
    "PlanSettings",
    "PlannedRule",
    "RuleSource",
    "build_plan",
    "rule_cycles",
    "zone",
]
