"""Designer JSON (rule spec version 1) -> :class:`CompiledRule`.

Never raises on malformed input: every problem becomes a :class:`SpecError` with the JSON path of
the offending block and a sentence for the marketer. :func:`compile_spec` raises
:class:`SpecErrors` carrying them all; :func:`validate_spec` returns them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .codegen import CodeGen
from .conditions import Condition, EvalContext, ParseContext, Stream, parse_where
from .conditions.attribute import AttrCondition
from .conditions.base import MAX_WINDOW_SECONDS, join, type_name
from .conditions.groups import AllCondition
from .conditions.window import parse_same, parse_within
from .durations import parse_duration, parse_signed_duration
from .errors import SpecError, SpecErrors
from .model import (
    PROFILE_UPDATED,
    Action,
    EmitAction,
    NotifyStaffAction,
    OfferAction,
    SetProfileAction,
)

SPEC_VERSION = 1
DEFAULT_CHANNELS: tuple[str, ...] = ("push", "sms", "email", "webhook", "in_app")
MAX_ACTIONS = 20
MAX_VARIANTS = 10
MAX_FACTS = 50
MAX_DELAY_SECONDS = MAX_WINDOW_SECONDS
TOP_LEVEL_KEYS = (
    "spec",
    "name",
    "description",
    "schedule",
    "trigger",
    "conditions",
    "unless",
    "delay",
    "actions",
    "variants",
    "guards",
    "goal",
)
Backend = Literal["codegen", "closures"]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


@dataclass(frozen=True, slots=True)
class EventTrigger:
    event: str
    where: Condition | None
    matches: Callable[[Mapping[str, object]], bool] | None  # fast where; None = always


@dataclass(frozen=True, slots=True)
class DateTrigger:
    """Fires at (date attribute + offset), once per customer per date value."""

    attribute: str
    offset: float


@dataclass(frozen=True, slots=True)
class Unless:
    event: str
    where: Condition | None
    matches: Callable[[Mapping[str, object]], bool] | None
    within: float
    same: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    share: float
    actions: tuple[Action, ...]


@dataclass(frozen=True, slots=True)
class Cap:
    max: int
    per: float | None  # seconds; None = ever


@dataclass(frozen=True, slots=True)
class QuietHours:
    start_minute: int  # minutes after local midnight
    end_minute: int
    then: Literal["defer", "drop"]
    text: str

    def contains(self, minute: int) -> bool:
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute


@dataclass(frozen=True, slots=True)
class Guards:
    holdout: float = 0.0
    cap: Cap | None = None
    quiet_hours: QuietHours | None = None
    budget: int | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Goal:
    event: str
    where: Condition | None
    matches: Callable[[Mapping[str, object]], bool] | None
    within: float
    revenue: str | None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An executable rule. Immutable; shared by every customer's evaluation."""

    name: str
    trigger: EventTrigger | DateTrigger
    conditions: Condition | None
    test: Callable[[EvalContext], bool] | None  # fast path for ``conditions``; None = no conditions
    unless: Unless | None
    delay: float | None
    variants: tuple[Variant, ...]  # one unnamed variant with share 1 when the spec has "actions"
    guards: Guards
    goal: Goal | None
    schedule_start: dt.date | None
    schedule_end: dt.date | None
    streams: tuple[Stream, ...]
    emits: tuple[str, ...]
    has_offer: bool
    spec: Mapping[str, object] = field(compare=False, repr=False)

    @property
    def trigger_event(self) -> str | None:
        return self.trigger.event if isinstance(self.trigger, EventTrigger) else None

    @property
    def waits(self) -> bool:
        return self.unless is not None or self.delay is not None


def validate_spec(
    spec: object,
    *,
    event_types: Mapping[str, Mapping[str, str]] | None = None,
    profile_attributes: Mapping[str, str] | None = None,
    channels: Collection[str] | None = None,
) -> list[SpecError]:
    """Every problem in ``spec`` (empty when it compiles). Never raises."""
    _, errors = _compile(spec, event_types, profile_attributes, channels, "closures")
    return errors


def compile_spec(
    spec: object,
    *,
    event_types: Mapping[str, Mapping[str, str]] | None = None,
    profile_attributes: Mapping[str, str] | None = None,
    channels: Collection[str] | None = None,
    backend: Backend = "codegen",
) -> CompiledRule:
    """Compile a spec or raise :class:`SpecErrors` naming every problem.

    ``event_types`` (event type -> {attribute: type}) and ``profile_attributes``
    ({field: type}), when given, let the compiler check names and types. Types are
    "string", "number", "integer", "boolean", "date", "datetime", "list", "object".
    """
    rule, errors = _compile(spec, event_types, profile_attributes, channels, backend)
    if errors or rule is None:
        raise SpecErrors(errors or [SpecError("", "The rule could not be compiled.")])
    return rule


# --- implementation ------------------------------------------------------------------------


def _compile(
    spec: object,
    event_types: Mapping[str, Mapping[str, str]] | None,
    profile_attributes: Mapping[str, str] | None,
    channels: Collection[str] | None,
    backend: Backend,
) -> tuple[CompiledRule | None, list[SpecError]]:
    ctx = ParseContext(event_types, profile_attributes)
    if not isinstance(spec, Mapping):
        ctx.error("", f"A rule is a JSON object, not {type_name(spec)}.", "not_an_object")
        return None, ctx.errors
    ctx.check_keys(spec, "", "Rule", TOP_LEVEL_KEYS, ("spec", "name", "trigger"))
    version = spec.get("spec")
    if "spec" in spec and (version != SPEC_VERSION or isinstance(version, bool)):
        ctx.error(
            "spec",
            f"This rule is written for version {version!r} of the rule language; "
            f"this platform reads version {SPEC_VERSION}.",
            "unsupported_version",
        )
    name = spec.get("name")
    if "name" in spec and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        ctx.error("name", "Rule: the name must be text of 1 to 200 characters.")
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        ctx.error("description", "Rule: the description must be text.")
    schedule = _parse_schedule(ctx, spec.get("schedule"))
    trigger = _parse_trigger(ctx, spec.get("trigger")) if "trigger" in spec else None
    trigger_event = trigger.event if isinstance(trigger, EventTrigger) else None

    conditions: Condition | None = None
    if "conditions" in spec:
        raw = spec.get("conditions")
        grouped = isinstance(raw, Mapping) and ("all" in raw or "any" in raw)
        label = "Conditions" if grouped else "Condition 1"
        conditions = ctx.parse_condition(raw, "conditions", label, trigger_event)

    unless = _parse_unless(ctx, spec.get("unless"), trigger_event) if "unless" in spec else None
    delay: float | None = None
    if "delay" in spec:
        delay = parse_duration(spec.get("delay"))
        if delay is None or delay <= 0 or delay > MAX_DELAY_SECONDS:
            ctx.error("delay", 'Delay: write how long to wait, such as "30m" (at most 400d).')
            delay = None
    variants = _parse_actions(ctx, spec, channels)
    guards = _parse_guards(ctx, spec.get("guards"))
    goal = _parse_goal(ctx, spec.get("goal")) if "goal" in spec else None

    emits = tuple(
        sorted({a.event for v in variants for a in v.actions if isinstance(a, EmitAction)})
    )
    if trigger_event is not None and trigger_event in emits:
        ctx.error(
            "actions",
            f"Actions: this rule emits '{trigger_event}', which is its own "
            "trigger: it would fire itself forever.",
            "rule_cycle",
        )
    if event_types is not None:
        for event in emits:
            if event not in event_types:
                ctx.error(
                    "actions",
                    f"Actions: the emitted event type '{event}' is not "
                    "registered; register it first.",
                    "unknown_event_type",
                )
    if ctx.errors or trigger is None:
        return None, ctx.errors

    test: Callable[[EvalContext], bool] | None = None
    if conditions is not None:
        if backend == "codegen":
            gen = CodeGen()
            expression = conditions.source(gen)
            test = gen.function(  # type: ignore[assignment]  # generated
                "conditions", "c", ["a = c.attrs", "at = c.at", f"return {expression}"]
            )
        else:
            test = conditions.test
    if isinstance(trigger, EventTrigger) and trigger.where is not None and backend == "closures":
        where = trigger.where
        trigger = EventTrigger(trigger.event, where, lambda attrs: _where_closure(where, attrs))

    streams = tuple(s for s in ctx.streams.values() if isinstance(s, Stream))
    has_offer = any(isinstance(a, OfferAction) for v in variants for a in v.actions)
    rule = CompiledRule(
        name=str(name),
        trigger=trigger,
        conditions=conditions,
        test=test,
        unless=unless,
        delay=delay,
        variants=variants,
        guards=guards,
        goal=goal,
        schedule_start=schedule[0],
        schedule_end=schedule[1],
        streams=streams,
        emits=emits,
        has_offer=has_offer,
        spec=spec,
    )
    return rule, ctx.errors


class _AttrsOnly:
    """A minimal context for evaluating ``where`` clauses with the closure backend."""

    __slots__ = ("at", "attrs")

    def __init__(self, attrs: Mapping[str, object]) -> None:
        self.attrs = attrs
        self.at = 0.0


def _where_closure(where: Condition, attrs: Mapping[str, object]) -> bool:
    return where.test(_AttrsOnly(attrs))  # type: ignore[arg-type]  # where reads attrs only


def compile_where(where: Condition) -> Callable[[Mapping[str, object]], bool]:
    gen = CodeGen()
    return gen.function("where", "a", ["at = 0.0", f"return {where.source(gen)}"])  # type: ignore[return-value]


def _parse_schedule(ctx: ParseContext, raw: object) -> tuple[dt.date | None, dt.date | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, Mapping):
        ctx.error("schedule", 'Schedule: expected {"start": "2026-12-01", "end": ...}.')
        return None, None
    ctx.check_keys(raw, "schedule", "Schedule", ("start", "end"))
    days: dict[str, dt.date | None] = {"start": None, "end": None}
    for key in days:
        value = raw.get(key)
        if value is None:
            continue
        with contextlib.suppress(ValueError):
            days[key] = dt.date.fromisoformat(value) if isinstance(value, str) else None
        if days[key] is None:
            ctx.error(f"schedule.{key}", f"Schedule: '{value}' is not a date (write 2026-12-01).")
    start, end = days["start"], days["end"]
    if start is not None and end is not None and end < start:
        ctx.error("schedule.end", "Schedule: the campaign ends before it starts.")
    return start, end


def _parse_trigger(ctx: ParseContext, raw: object) -> EventTrigger | DateTrigger | None:
    if not isinstance(raw, Mapping):
        ctx.error(
            "trigger",
            f'Trigger: expected {{"event": ...}} or {{"date": ...}}, got {type_name(raw)}.',
        )
        return None
    if "date" in raw:
        ctx.check_keys(raw, "trigger", "Trigger", ("date", "offset"), ("date",))
        attribute = raw.get("date")
        if not isinstance(attribute, str) or not attribute:
            ctx.error(
                "trigger.date", 'Trigger: name the profile date, such as "gift_coupon_expiry".'
            )
            return None
        offset = parse_signed_duration(raw.get("offset", "0s"))
        if offset is None or abs(offset) > MAX_WINDOW_SECONDS:
            ctx.error(
                "trigger.offset",
                'Trigger: the offset is a duration such as "-7d" (at most 400 days).',
            )
            return None
        if ctx.profile_attributes is not None and ctx.profile_attributes.get(attribute) not in (
            "date",
            "datetime",
        ):
            ctx.error(
                "trigger.date",
                f"Trigger: the profile has no date field '{attribute}'.",
                "unknown_attribute",
            )
            return None
        return DateTrigger(attribute, offset)
    ctx.check_keys(raw, "trigger", "Trigger", ("event", "where"), ("event",))
    event = raw.get("event")
    if not ctx.known_event(event, "trigger.event", "Trigger"):
        return None
    if event == PROFILE_UPDATED:
        pass  # allowed: a rule may react to profile changes
    where = None
    matches = None
    if raw.get("where") is not None:
        where = parse_where(ctx, raw.get("where"), "trigger.where", "Trigger", event)
        if where is None:
            return None
        matches = compile_where(where)
    return EventTrigger(event, where, matches)  # type: ignore[arg-type]  # checked by known_event


def _parse_unless(ctx: ParseContext, raw: object, trigger_event: str | None) -> Unless | None:
    if not isinstance(raw, Mapping):
        ctx.error("unless", 'Unless: expected {"event": ..., "within": ...}.')
        return None
    if not ctx.check_keys(
        raw, "unless", "Unless", ("event", "where", "within", "same"), ("event", "within")
    ):
        return None
    event = raw.get("event")
    if not ctx.known_event(event, "unless.event", "Unless"):
        return None
    within = parse_within(ctx, raw.get("within"), "unless.within", "Unless")
    same = parse_same(ctx, raw.get("same"), "unless.same", "Unless", (trigger_event, event))
    where = None
    if raw.get("where") is not None:
        where = parse_where(ctx, raw.get("where"), "unless.where", "Unless", event)
        if where is None:
            return None
    if within is None or same is None:
        return None
    matches = compile_where(where) if where is not None else None
    return Unless(event, where, matches, within, same)  # type: ignore[arg-type]  # checked


def _parse_actions(
    ctx: ParseContext, spec: Mapping[str, object], channels: Collection[str] | None
) -> tuple[Variant, ...]:
    has_actions = "actions" in spec
    has_variants = "variants" in spec
    if has_actions == has_variants:
        ctx.error(
            "actions", "Rule: give either 'actions' or A/B 'variants' (exactly one).", "required"
        )
        return ()
    if has_actions:
        actions = _parse_action_list(ctx, spec.get("actions"), "actions", "Actions", channels)
        return (Variant("", 1.0, actions),)
    raw = spec.get("variants")
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_VARIANTS:
        ctx.error("variants", f"Variants: give 2 to {MAX_VARIANTS} variants.")
        return ()
    variants: list[Variant] = []
    names: set[str] = set()
    total = 0.0
    for index, item in enumerate(raw):
        path = join("variants", index)
        label = f"Variant {index + 1}"
        if not isinstance(item, Mapping):
            ctx.error(path, f'{label}: expected {{"name", "share", "actions"}}.')
            continue
        ctx.check_keys(
            item, path, label, ("name", "share", "actions"), ("name", "share", "actions")
        )
        name = item.get("name")
        share = item.get("share")
        if not isinstance(name, str) or not name or name in names:
            ctx.error(join(path, "name"), f"{label}: each variant needs its own name.")
            continue
        names.add(name)
        if (
            not isinstance(share, int | float)
            or isinstance(share, bool)
            or not math.isfinite(share)
            or not 0 < share <= 1
        ):
            ctx.error(join(path, "share"), f"{label}: the share is a number above 0 and at most 1.")
            continue
        total += share
        actions = _parse_action_list(
            ctx, item.get("actions"), join(path, "actions"), f"{label} actions", channels
        )
        variants.append(Variant(name, float(share), actions))
    if len(variants) == len(raw) and abs(total - 1.0) > 1e-6:
        ctx.error("variants", f"Variants: the shares add up to {total:g}; they must add up to 1.")
    return tuple(variants)


def _parse_action_list(
    ctx: ParseContext, raw: object, path: str, label: str, channels: Collection[str] | None
) -> tuple[Action, ...]:
    if not isinstance(raw, list) or not raw:
        ctx.error(path, f"{label}: give a list of at least one action.")
        return ()
    if len(raw) > MAX_ACTIONS:
        ctx.error(path, f"{label}: at most {MAX_ACTIONS} actions.", "too_complex")
        return ()
    allowed_channels = tuple(channels) if channels is not None else DEFAULT_CHANNELS
    actions: list[Action] = []
    for index, item in enumerate(raw):
        item_path = join(path, index)
        item_label = f"Action {index + 1}"
        if not isinstance(item, Mapping):
            ctx.error(item_path, f"{item_label}: expected an action object, got {type_name(item)}.")
            continue
        action = _parse_action(ctx, item, item_path, item_label, allowed_channels)
        if action is not None:
            actions.append(action)
    return tuple(actions)


def _parse_action(
    ctx: ParseContext,
    item: Mapping[str, object],
    path: str,
    label: str,
    channels: tuple[str, ...],
) -> Action | None:
    def channel(key: str, required: bool) -> str | None:
        value = item.get(key)
        if value is None and not required:
            return None
        if value not in channels:
            names = ", ".join(channels)
            ctx.error(join(path, key), f"{label}: '{value}' is not a channel (use one of {names}).")
            return None
        return value

    if "offer" in item:
        if not ctx.check_keys(
            item, path, label, ("offer", "channel", "fallback"), ("offer", "channel")
        ):
            return None
        slug = item.get("offer")
        if not isinstance(slug, str) or not _SLUG.match(slug):
            ctx.error(
                join(path, "offer"),
                f'{label}: name the offer by its slug, such as "savings-signup-coupon".',
            )
            return None
        main = channel("channel", True)
        fallback = channel("fallback", False)
        if main is None or ("fallback" in item and fallback is None):
            return None
        if fallback == main:
            ctx.error(join(path, "fallback"), f"{label}: the fallback is the same channel.")
            return None
        return OfferAction(slug, main, fallback)
    if "set_profile" in item:
        if not ctx.check_keys(item, path, label, ("set_profile",)):
            return None
        facts = item.get("set_profile")
        if not isinstance(facts, Mapping) or not 0 < len(facts) <= MAX_FACTS:
            ctx.error(join(path, "set_profile"), f'{label}: set_profile needs {{"field": value}}.')
            return None
        for key, value in facts.items():
            if (
                not isinstance(key, str)
                or not key
                or not isinstance(value, str | int | float | bool | type(None))
            ):
                ctx.error(
                    join(join(path, "set_profile"), str(key)),
                    f"{label}: fact '{key}' must be set to text, a number or yes/no.",
                )
                return None
        return SetProfileAction(dict(facts))
    if "emit" in item:
        if not ctx.check_keys(item, path, label, ("emit",)):
            return None
        emit = item.get("emit")
        if not isinstance(emit, Mapping):
            ctx.error(join(path, "emit"), f'{label}: emit needs {{"event": TYPE}}.')
            return None
        if not ctx.check_keys(emit, join(path, "emit"), label, ("event", "attributes"), ("event",)):
            return None
        event = emit.get("event")
        attributes = emit.get("attributes", {})
        if not isinstance(event, str) or not event or event == PROFILE_UPDATED:
            ctx.error(join(path, "emit.event"), f"{label}: name the event type to emit.")
            return None
        if not isinstance(attributes, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str | int | float | bool | type(None))
            for key, value in attributes.items()
        ):
            ctx.error(
                join(path, "emit.attributes"),
                f"{label}: attributes map names to text, numbers or yes/no.",
            )
            return None
        return EmitAction(event, dict(attributes))
    if "notify_staff" in item:
        if not ctx.check_keys(item, path, label, ("notify_staff",)):
            return None
        notify = item.get("notify_staff")
        if not isinstance(notify, Mapping):
            ctx.error(
                join(path, "notify_staff"), f"{label}: notify_staff needs a team and a message."
            )
            return None
        if not ctx.check_keys(
            notify, join(path, "notify_staff"), label, ("team", "message"), ("team", "message")
        ):
            return None
        team, message = notify.get("team"), notify.get("message")
        if not isinstance(team, str) or not team or not isinstance(message, str) or not message:
            ctx.error(join(path, "notify_staff"), f"{label}: team and message must be text.")
            return None
        return NotifyStaffAction(team, message)
    ctx.error(path, f"{label}: an action is one of 'offer', 'set_profile', 'emit', 'notify_staff'.")
    return None


def _parse_clock(ctx: ParseContext, value: object, path: str) -> int | None:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        ctx.error(path, f"Quiet hours: '{value}' is not a time of day (write 21:00).")
        return None
    return int(match.group(1)) * 60 + int(match.group(2))


def _parse_guards(ctx: ParseContext, raw: object) -> Guards:
    if raw is None:
        return Guards()
    if not isinstance(raw, Mapping):
        ctx.error("guards", "Guards: expected an object.")
        return Guards()
    ctx.check_keys(raw, "guards", "Guards", ("holdout", "cap", "quiet_hours", "budget", "priority"))
    holdout = raw.get("holdout", 0.0)
    if (
        not isinstance(holdout, int | float)
        or isinstance(holdout, bool)
        or not math.isfinite(holdout)
        or not 0 <= holdout < 1
    ):
        ctx.error(
            "guards.holdout",
            "Holdout: a share from 0 up to (not including) 1, such as 0.1 for 10%.",
        )
        holdout = 0.0
    cap = None
    if raw.get("cap") is not None:
        cap_raw = raw.get("cap")
        if not isinstance(cap_raw, Mapping):
            ctx.error("guards.cap", 'Cap: expected {"max": 1, "per": "30d"}.')
        elif ctx.check_keys(cap_raw, "guards.cap", "Cap", ("max", "per"), ("max", "per")):
            maximum = cap_raw.get("max")
            per_raw = cap_raw.get("per")
            per = None if per_raw == "ever" else parse_duration(per_raw)
            if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1:
                ctx.error("guards.cap.max", "Cap: 'max' is a whole number of at least 1.")
            elif per_raw != "ever" and (per is None or per <= 0 or per > MAX_WINDOW_SECONDS):
                ctx.error(
                    "guards.cap.per",
                    'Cap: \'per\' is a period such as "30d" (at most 400d), or "ever".',
                )
            else:
                cap = Cap(maximum, per)
    quiet = None
    if raw.get("quiet_hours") is not None:
        quiet_raw = raw.get("quiet_hours")
        if not isinstance(quiet_raw, Mapping):
            ctx.error("guards.quiet_hours", 'Quiet hours: expected {"from", "to", "then"}.')
        elif ctx.check_keys(
            quiet_raw, "guards.quiet_hours", "Quiet hours", ("from", "to", "then"), ("from", "to")
        ):
            start = _parse_clock(ctx, quiet_raw.get("from"), "guards.quiet_hours.from")
            end = _parse_clock(ctx, quiet_raw.get("to"), "guards.quiet_hours.to")
            then = quiet_raw.get("then", "defer")
            if then not in ("defer", "drop"):
                ctx.error("guards.quiet_hours.then", 'Quiet hours: \'then\' is "defer" or "drop".')
            elif start is not None and end is not None:
                if start == end:
                    ctx.error("guards.quiet_hours.to", "Quiet hours: 'from' and 'to' are equal.")
                else:
                    text = f"{quiet_raw.get('from')} to {quiet_raw.get('to')}"
                    quiet = QuietHours(start, end, then, text)
    budget = None
    if raw.get("budget") is not None:
        budget_raw = raw.get("budget")
        maximum = budget_raw.get("max_offers") if isinstance(budget_raw, Mapping) else None
        if isinstance(budget_raw, Mapping):
            ctx.check_keys(budget_raw, "guards.budget", "Budget", ("max_offers",))
        if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1:
            ctx.error("guards.budget", 'Budget: expected {"max_offers": N} with N at least 1.')
        else:
            budget = maximum
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
        ctx.error("guards.priority", "Priority: a whole number from 0 to 1000 (higher wins).")
        priority = 0
    return Guards(float(holdout), cap, quiet, budget, priority)


def _parse_goal(ctx: ParseContext, raw: object) -> Goal | None:
    if not isinstance(raw, Mapping):
        ctx.error("goal", 'Goal: expected {"event": ..., "within": ...}.')
        return None
    if not ctx.check_keys(
        raw, "goal", "Goal", ("event", "where", "within", "revenue"), ("event", "within")
    ):
        return None
    event = raw.get("event")
    if not ctx.known_event(event, "goal.event", "Goal"):
        return None
    within = parse_within(ctx, raw.get("within"), "goal.within", "Goal")
    where = None
    if raw.get("where") is not None:
        where = parse_where(ctx, raw.get("where"), "goal.where", "Goal", event)
        if where is None:
            return None
    revenue = raw.get("revenue")
    if revenue is not None:
        declared = ctx.attribute_type(event, revenue) if isinstance(revenue, str) else None
        if not isinstance(revenue, str) or not revenue or declared == "":
            ctx.error("goal.revenue", f"Goal: 'revenue' names a number attribute of '{event}'.")
            return None
    if within is None:
        return None
    matches = compile_where(where) if where is not None else None
    return Goal(event, where, matches, within, revenue)  # type: ignore[arg-type]  # checked


IndexKey = tuple[str, tuple[object, ...], Condition]


def index_keys(where: Condition | None) -> list[IndexKey]:
    """Every (attribute, values, predicate) the filter pins to a few exact values."""
    candidates: tuple[Condition, ...]
    if isinstance(where, AttrCondition):
        candidates = (where,)
    elif type(where) is AllCondition:
        candidates = where.items
    else:
        return []
    keys: list[IndexKey] = []
    for item in candidates:
        if isinstance(item, AttrCondition) and item.predicate.op in ("=", "in"):
            value = item.predicate.value
            values = tuple(value) if item.predicate.op == "in" else (value,)  # type: ignore[arg-type]
            keys.append((item.name, values, item))
    return keys


def indexable_trigger(
    where: Condition | None, score: Callable[[str], float] | None = None
) -> tuple[str, tuple[object, ...], Callable[[Mapping[str, object]], bool] | None] | None:
    """(attribute, values, residual filter) when the filter pins an attribute to exact values.

    The plan then looks the rule (or stream) up by the event's value instead of testing it (an
    alpha index), so 3,000 campaigns cost about what the few matching ones cost; only the
    residual part of the filter (None: nothing left) is still tested. ``score`` ranks the
    attributes when several are pinned (the plan prefers the most selective one).
    """
    keys = index_keys(where)
    if not keys:
        return None
    name, values, used = max(keys, key=lambda key: score(key[0]) if score else 0.0)
    assert where is not None  # keys exist only for a filter
    items = where.items if isinstance(where, AllCondition) else (where,)
    rest = tuple(other for other in items if other is not used)
    residual = None
    if len(rest) == 1:
        residual = compile_where(rest[0])
    elif rest:
        residual = compile_where(AllCondition(where.path, where.label, rest))
    return name, values, residual
