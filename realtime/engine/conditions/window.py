"""Sliding windows: ``count`` and ``sum`` of matching events, and the streams that feed them.

A *stream* is the per-customer record of the events one window (or sequence step) needs:
sorted timestamps in an ``array('d')`` (8 bytes each, no per-entry objects), plus the summed
values for ``sum``. Streams are identified by a stable key derived from what they record, so
identical windows in different campaigns share one stream, and state survives republishing.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from bisect import bisect_right, insort
from collections.abc import Callable, Mapping
from typing import cast

from ..codegen import CodeGen
from ..durations import format_duration, parse_duration
from ..model import ExplanationItem
from ..predicates import HASHABLE_TYPES, NUMBER_TYPES, Predicate
from .attribute import parse_predicate
from .base import (
    MAX_WINDOW_SECONDS,
    Condition,
    EvalContext,
    ParseContext,
    join,
    register,
    type_name,
)

#: At most this many entries per stream (per key): bounds state for pathological customers.
MAX_STREAM_ENTRIES = 4096

SameKey = str | int | float | bool | tuple[object, ...]


def same_key(attrs: Mapping[str, object], names: tuple[str, ...]) -> SameKey | None:
    """The value(s) of the ``same`` attributes; None when one is missing."""
    if len(names) == 1:
        value = attrs.get(names[0])
        if value is None:
            return None
        if type(value) not in HASHABLE_TYPES:
            return json.dumps(value, sort_keys=True, default=str)
        return value  # type: ignore[return-value]  # narrowed by the type check
    values: list[object] = []
    for name in names:
        value = attrs.get(name)
        if value is None:
            return None
        if type(value) not in HASHABLE_TYPES:
            value = json.dumps(value, sort_keys=True, default=str)
        values.append(value)
    return tuple(values)


class Stream:
    """What to record for one window or sequence step; shared by every rule that needs it."""

    __slots__ = ("event", "horizon", "key", "same", "value_attr", "where", "where_condition")

    def __init__(
        self,
        key: str,
        event: str,
        where: Callable[[Mapping[str, object]], bool] | None,
        where_condition: Condition | None,
        same: tuple[str, ...],
        value_attr: str | None,
        horizon: float,
    ) -> None:
        self.key = key
        self.event = event
        self.where = where
        self.where_condition = where_condition
        self.same = same
        self.value_attr = value_attr
        self.horizon = horizon

    def with_horizon(self, horizon: float) -> Stream:
        return Stream(
            self.key,
            self.event,
            self.where,
            self.where_condition,
            self.same,
            self.value_attr,
            horizon,
        )

    def record(self, windows: dict[str, object], attrs: Mapping[str, object], ts: float) -> bool:
        """Add the event if it matches; True when state changed. Hot path."""
        where = self.where
        if where is not None and not where(attrs):
            return False
        value_attr = self.value_attr
        value: object = None
        if value_attr is not None:
            value = attrs.get(value_attr)
            if type(value) not in NUMBER_TYPES:
                return False
        same = self.same
        if same:
            if len(same) == 1:
                key = attrs.get(same[0])
                if key is not None and type(key) not in HASHABLE_TYPES:
                    key = same_key(attrs, same)
            else:
                key = same_key(attrs, same)
            if key is None:
                return False
            buckets = windows.get(self.key)
            if buckets is None:
                buckets = windows[self.key] = {}
            data = buckets.get(key)  # type: ignore[attr-defined]  # keyed stream is a dict
            if data is None:
                if len(buckets) > 32:  # type: ignore[arg-type]
                    _sweep(buckets, ts - self.horizon)  # type: ignore[arg-type]
                data = buckets[key] = _new_data(value_attr)  # type: ignore[index]
        else:
            data = windows.get(self.key)
            if data is None:
                data = windows[self.key] = _new_data(value_attr)
        if value_attr is None:
            stamps: array[float] = data
            if stamps and ts < stamps[-1]:
                insort(stamps, ts)
            else:
                stamps.append(ts)
            # forget what no window can see any more (amortised: only when the oldest is out)
            if stamps[0] <= ts - self.horizon or len(stamps) > MAX_STREAM_ENTRIES:
                _prune_ts(stamps, ts - self.horizon)
        else:
            _append_pair(data, ts, value, self.horizon)
        return True


def _prune_ts(stamps: array[float], cutoff: float) -> None:
    del stamps[: bisect_right(stamps, cutoff)]
    if len(stamps) > MAX_STREAM_ENTRIES:
        del stamps[: len(stamps) - MAX_STREAM_ENTRIES]


def _new_data(value_attr: str | None) -> object:
    if value_attr is None:
        return array("d")
    return (array("d"), array("d"))


def _append_pair(
    data: tuple[array[float], array[float]], ts: float, value: object, horizon: float
) -> None:
    stamps, values = data
    if stamps and ts < stamps[-1]:
        index = bisect_right(stamps, ts)
        stamps.insert(index, ts)
        values.insert(index, value)  # type: ignore[arg-type]  # checked numeric by caller
    else:
        stamps.append(ts)
        values.append(value)  # type: ignore[arg-type]  # checked numeric by caller
    cutoff = ts - horizon
    if stamps[0] <= cutoff:
        cut = bisect_right(stamps, cutoff)
        del stamps[:cut]
        del values[:cut]
    if len(stamps) > MAX_STREAM_ENTRIES:
        cut = len(stamps) - MAX_STREAM_ENTRIES
        del stamps[:cut]
        del values[:cut]


def _sweep(buckets: dict[object, object], cutoff: float) -> None:
    """Drop keys whose newest entry is out of every window (keeps keyed streams small)."""
    stale = []
    for key, data in buckets.items():
        stamps = data if isinstance(data, array) else data[0]  # type: ignore[index]
        if not stamps or stamps[-1] <= cutoff:
            stale.append(key)
    for key in stale:
        del buckets[key]


def prune_stream(data: object, cutoff: float) -> object | None:
    """Prune one stream's data in place; None when nothing is left (used by snapshots)."""
    if isinstance(data, dict):
        for key in list(data):
            if prune_stream(data[key], cutoff) is None:
                del data[key]
        return data or None
    stamps = data if isinstance(data, array) else data[0]  # type: ignore[index]
    cut = bisect_right(stamps, cutoff)
    if cut:
        del stamps[:cut]
        if not isinstance(data, array):
            del data[1][:cut]  # type: ignore[index]
    return data if len(stamps) else None


def stream_key(event: str, where: object, same: tuple[str, ...], value_attr: str | None) -> str:
    canonical = json.dumps(
        {"e": event, "w": where, "s": list(same), "v": value_attr},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "w" + hashlib.blake2b(canonical.encode(), digest_size=6).hexdigest()


def stream_data(c: EvalContext, stream_id: str, same: tuple[str, ...]) -> object | None:
    state = c.state
    if state is None:
        return None
    data = state.windows.get(stream_id)
    if data is None or not same:
        return data
    key = same_key(c.attrs, same)
    if key is None:
        return None
    return data.get(key)  # type: ignore[attr-defined]  # keyed stream is a dict


class CountCondition(Condition):
    type_id = "count"
    cost = 2

    def __init__(
        self, path: str, label: str, stream: Stream, within: float, predicate: Predicate
    ) -> None:
        super().__init__(path, label)
        self.stream = stream
        self.within = within
        self.predicate = predicate
        self.stream_id = stream.key
        self.same = stream.same

    def count(self, c: EvalContext) -> int:
        data = stream_data(c, self.stream_id, self.same)
        if not data:
            return 0
        at = c.at
        stamps = cast("array[float]", data)  # a count stream holds timestamps
        return bisect_right(stamps, at) - bisect_right(stamps, at - self.within)

    def test(self, c: EvalContext) -> bool:
        return self.predicate.check(self.count(c), c.at)

    def source(self, gen: CodeGen) -> str:
        return self.predicate.source(f"{gen.const(self, '_count')}.count(c)", gen)

    def describe(self) -> str:
        subject = f"the number of '{self.stream.event}' events"
        if self.stream.where_condition is not None:
            subject += f" where {self.stream.where_condition.describe()}"
        if self.same:
            subject += " with the same " + ", ".join(f"'{name}'" for name in self.same)
        subject += f" in the last {format_duration(self.within)}"
        return self.predicate.describe(subject)

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        count = self.count(c)
        return [self.item(self.predicate.check(count, c.at), {"count": count})]


class SumCondition(CountCondition):
    type_id = "sum"

    def total(self, c: EvalContext) -> float:
        data = stream_data(c, self.stream_id, self.same)
        if not data:
            return 0
        stamps, values = cast("tuple[array[float], array[float]]", data)  # a sum stream
        at = c.at
        return sum(values[bisect_right(stamps, at - self.within) : bisect_right(stamps, at)])

    def test(self, c: EvalContext) -> bool:
        return self.predicate.check(self.total(c), c.at)

    def source(self, gen: CodeGen) -> str:
        return self.predicate.source(f"{gen.const(self, '_sum')}.total(c)", gen)

    def describe(self) -> str:
        subject = f"the total '{self.stream.value_attr}' of '{self.stream.event}' events"
        if self.stream.where_condition is not None:
            subject += f" where {self.stream.where_condition.describe()}"
        if self.same:
            subject += " with the same " + ", ".join(f"'{name}'" for name in self.same)
        subject += f" in the last {format_duration(self.within)}"
        return self.predicate.describe(subject)

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        total = self.total(c)
        return [self.item(self.predicate.check(total, c.at), {"sum": total})]


def parse_within(ctx: ParseContext, value: object, path: str, label: str) -> float | None:
    seconds = parse_duration(value)
    if seconds is None:
        ctx.error(
            path, f'{label}: \'{value}\' is not a duration (write "90s", "7m", "12h" or "30d").'
        )
        return None
    if seconds <= 0:
        ctx.error(path, f"{label}: a window must last at least one second.", "impossible_window")
        return None
    if seconds > MAX_WINDOW_SECONDS:
        ctx.error(path, f"{label}: windows can look back at most 400 days.", "impossible_window")
        return None
    return seconds


def parse_same(
    ctx: ParseContext,
    value: object,
    path: str,
    label: str,
    events: tuple[str | None, ...],
) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(name, str) and name for name in value)
    ):
        ctx.error(path, f"{label}: 'same' needs a list of attribute names.")
        return None
    for event in events:
        for name in value:
            if ctx.attribute_type(event, name) == "":
                ctx.error(
                    path,
                    f"{label}: event '{event}' has no attribute '{name}'.",
                    "unknown_attribute",
                )
                return None
    return tuple(value)


def make_stream(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    same: tuple[str, ...],
    value_attr: str | None,
    horizon: float,
) -> Stream | None:
    """Parse ``event`` + ``where`` of a window or step into a (shared) stream."""
    from .groups import parse_where  # local: groups imports attribute, which is fine either way

    event = block.get("event")
    if not ctx.known_event(event, join(path, "event"), label):
        return None
    where_condition = None
    where_function = None
    raw_where = block.get("where")
    if raw_where is not None:
        where_condition = parse_where(ctx, raw_where, join(path, "where"), label, event)  # type: ignore[arg-type]
        if where_condition is None:
            return None
        gen = CodeGen()
        where_function = gen.function(
            "where", "a", ["at = 0.0", f"return {where_condition.source(gen)}"]
        )
    key = stream_key(event, raw_where, same, value_attr)  # type: ignore[arg-type]
    stream = Stream(key, event, where_function, where_condition, same, value_attr, horizon)  # type: ignore[arg-type]
    known = ctx.streams.get(key)
    if isinstance(known, Stream) and known.horizon >= horizon:
        return known
    ctx.streams[key] = stream
    return stream


def _parse_window(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    kind: str,
) -> Condition | None:
    ctx.check_keys(block, path, label, (kind, "op", "value"), (kind, "op"))
    inner = block.get(kind)
    inner_path = join(path, kind)
    if not isinstance(inner, Mapping):
        ctx.error(
            inner_path,
            f"{label}: '{kind}' needs an object with 'event' and 'within', not {type_name(inner)}.",
        )
        return None
    allowed = ("event", "where", "within", "same") + (("attr",) if kind == "sum" else ())
    required = ("event", "within") + (("attr",) if kind == "sum" else ())
    if not ctx.check_keys(inner, inner_path, label, allowed, required):
        return None
    within = parse_within(ctx, inner.get("within"), join(inner_path, "within"), label)
    event = inner.get("event")
    windowed_event = event if isinstance(event, str) else None
    same = parse_same(
        ctx, inner.get("same"), join(inner_path, "same"), label, (trigger_event, windowed_event)
    )
    value_attr: str | None = None
    if kind == "sum":
        raw_attr = inner.get("attr")
        if not isinstance(raw_attr, str) or not raw_attr:
            ctx.error(join(inner_path, "attr"), f"{label}: 'sum' needs the attribute to add up.")
            return None
        declared = ctx.attribute_type(windowed_event, raw_attr)
        if declared == "":
            ctx.error(
                join(inner_path, "attr"),
                f"{label}: event '{event}' has no attribute '{raw_attr}'.",
                "unknown_attribute",
            )
            return None
        if declared is not None and declared not in ("number", "integer"):
            ctx.error(
                join(inner_path, "attr"),
                f"{label}: '{raw_attr}' is not a number, so it cannot be added up.",
            )
            return None
        value_attr = raw_attr
    if within is None or same is None:
        return None
    stream = make_stream(ctx, inner, inner_path, label, same, value_attr, within)
    predicate = parse_predicate(
        ctx, block, path, label, kind, "integer" if kind == "count" else "number"
    )
    if stream is None or predicate is None:
        return None
    if kind == "count" and _impossible_count(predicate):
        ctx.error(
            join(path, "value"),
            f"{label}: a count is never below zero, so this condition can never hold.",
            "impossible_window",
        )
        return None
    condition_type = CountCondition if kind == "count" else SumCondition
    return condition_type(path, label, stream, within, predicate)


def _impossible_count(predicate: Predicate) -> bool:
    op = predicate.op
    if op == "between":
        return cast("tuple[float, float]", predicate.value)[1] < 0
    value = cast(float, predicate.value)  # a count compares with a number
    if op == "<":
        return value <= 0
    if op == "<=" or op == "=":
        return value < 0
    return False


@register("count")
def parse_count(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    return _parse_window(ctx, block, path, label, trigger_event, "count")


@register("sum")
def parse_sum(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    return _parse_window(ctx, block, path, label, trigger_event, "sum")
