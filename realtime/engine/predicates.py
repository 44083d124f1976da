"""Attribute predicates: ``{"attr"|"profile": NAME, "op": OP, "value": V}``.

Each operator has two equivalent implementations: :meth:`Predicate.check` (plain Python, used by
the closure backend and by explanations) and :meth:`Predicate.source` (an expression for the
generated hot path). A tested property keeps them equal. Neither raises: a missing attribute or a
value of the wrong type makes the predicate false ("condition not met"), except ``not_exists``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from .codegen import CodeGen
from .durations import format_duration

NUMBER_TYPES: frozenset[type] = frozenset({int, float})
#: bounds of 'between': two numbers or two texts (dates); typed as floats for the checker
_Pair = tuple[float, float]
HASHABLE_TYPES: frozenset[type] = frozenset({str, int, float, bool})

EQUALITY_OPS = ("=", "!=")
SET_OPS = ("in", "not_in")
ORDER_OPS = ("<", "<=", ">", ">=")
ALL_OPS = (
    "=",
    "!=",
    "in",
    "not_in",
    "<",
    "<=",
    ">",
    ">=",
    "between",
    "contains",
    "exists",
    "not_exists",
    "within_next",
    "within_last",
)
OP_WORDS = {
    "=": "is",
    "!=": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
    "between": "is between",
    "contains": "contains",
    "exists": "is present",
    "not_exists": "is absent",
    "within_next": "falls within the next",
    "within_last": "fell within the last",
}
_DAY = 86400.0
MAX_DAYS_TEXT = "at most 400d"


@lru_cache(maxsize=65536)
def _parse_instant(text: str) -> tuple[float, bool] | None:
    """(epoch seconds, is_date_only) for an ISO date or datetime string, else None."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return moment.timestamp(), True
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp(), False


def to_instant(value: object) -> tuple[float, bool] | None:
    """Read a date attribute: ISO date, ISO datetime or epoch seconds. None if unreadable."""
    kind = type(value)
    if kind is str:
        return _parse_instant(value)
    if kind is int or kind is float:
        return float(value), False  # type: ignore[arg-type]  # narrowed by the type check
    return None


def within_next(value: object, at: float, seconds: float) -> bool:
    instant = to_instant(value)
    if instant is None:
        return False
    start, date_only = instant
    end = start + _DAY if date_only else start
    # A date-only value covers its whole (UTC) day: "matures today" is within the next 30 days.
    return end >= at and start <= at + seconds


def within_last(value: object, at: float, seconds: float) -> bool:
    instant = to_instant(value)
    if instant is None:
        return False
    start, date_only = instant
    end = start + _DAY if date_only else start
    return start <= at and end >= at - seconds


def contains(container: object, needle: object) -> bool:
    if type(container) is str:
        return type(needle) is str and needle in container
    if type(container) in (list, tuple):
        return needle in container  # type: ignore[operator]  # narrowed by the type check
    return False


def _render(value: object) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list | tuple | frozenset):
        return ", ".join(_render(item) for item in value)
    return repr(value)


@dataclass(frozen=True, slots=True)
class Predicate:
    """A compiled operator with its operand. ``value`` is normalised by the compiler:
    a frozenset for in/not_in, a (low, high) tuple for between, seconds for within_*."""

    op: str
    value: object
    text_value: object = None

    def check(self, actual: object, at: float) -> bool:
        op = self.op
        value = self.value
        kind = type(actual)
        if op == "=":
            return actual is not None and actual == value
        if op == "!=":
            return actual is not None and actual != value
        if op == "in":
            return kind in HASHABLE_TYPES and actual in value  # type: ignore[operator]
        if op == "not_in":
            return kind in HASHABLE_TYPES and actual not in value  # type: ignore[operator]
        if op in ORDER_OPS:
            if type(value) is str:
                if kind is not str:
                    return False
            elif kind not in NUMBER_TYPES:
                return False
            # same kinds on both sides now (numbers, or texts): typed as floats for the checker
            left, right = cast(float, actual), cast(float, value)
            if op == "<":
                return left < right
            if op == "<=":
                return left <= right
            if op == ">":
                return left > right
            return left >= right
        if op == "between":
            low, high = cast(_Pair, value)  # the compiler guarantees a pair
            if type(low) is str:
                if kind is not str:
                    return False
            elif kind not in NUMBER_TYPES:
                return False
            return low <= cast(float, actual) <= high
        if op == "contains":
            return contains(actual, value)
        if op == "exists":
            return actual is not None
        if op == "not_exists":
            return actual is None
        if op == "within_next":
            return within_next(actual, at, value)  # type: ignore[arg-type]
        if op == "within_last":
            return within_last(actual, at, value)  # type: ignore[arg-type]
        return False

    def source(self, accessor: str, gen: CodeGen) -> str:
        """A boolean expression; may use the locals ``at`` and the scratch name ``_v``."""
        op = self.op
        value = self.value
        if op == "=":
            if type(value) is str:
                return f"({accessor} == {value!r})"
            return f"((_v := {accessor}) is not None and _v == {gen.const(value)})"
        if op == "!=":
            return f"((_v := {accessor}) is not None and _v != {gen.const(value)})"
        if op in SET_OPS:
            hashable = gen.const(HASHABLE_TYPES, "_H")
            negation = "not in" if op == "not_in" else "in"
            return f"(type(_v := {accessor}) in {hashable} and _v {negation} {gen.const(value)})"
        if op in ORDER_OPS:
            if type(value) is str:
                check = f"type(_v := {accessor}) is str"
            else:
                check = f"type(_v := {accessor}) in {gen.const(NUMBER_TYPES, '_N')}"
            return f"({check} and _v {op} {gen.const(value)})"
        if op == "between":
            low, high = cast(_Pair, value)  # the compiler guarantees a pair
            if type(low) is str:
                check = f"type(_v := {accessor}) is str"
            else:
                check = f"type(_v := {accessor}) in {gen.const(NUMBER_TYPES, '_N')}"
            return f"({check} and {gen.const(low)} <= _v <= {gen.const(high)})"
        if op == "contains":
            return f"{gen.const(contains, '_contains')}({accessor}, {gen.const(value)})"
        if op == "exists":
            return f"({accessor} is not None)"
        if op == "not_exists":
            return f"({accessor} is None)"
        if op == "within_next":
            return f"{gen.const(within_next, '_wn')}({accessor}, at, {value!r})"
        if op == "within_last":
            return f"{gen.const(within_last, '_wl')}({accessor}, at, {value!r})"
        return "False"

    def describe(self, subject: str) -> str:
        words = OP_WORDS.get(self.op, self.op)
        if self.op in ("exists", "not_exists"):
            return f"{subject} {words}"
        if self.op == "between":
            low, high = cast(_Pair, self.value)  # the compiler guarantees a pair
            return f"{subject} {words} {_render(low)} and {_render(high)}"
        if self.op in ("within_next", "within_last"):
            return f"{subject} {words} {format_duration(self.value)}"  # type: ignore[arg-type]
        shown = self.text_value if self.text_value is not None else self.value
        if isinstance(shown, frozenset):
            shown = sorted(shown, key=repr)
        return f"{subject} {words} {_render(shown)}"


def make_predicate(op: str, value: object) -> Predicate:
    """Normalise an already validated operand."""
    if op in SET_OPS:
        items: Sequence[object] = value  # type: ignore[assignment]  # validated list
        return Predicate(op, frozenset(items), list(items))
    if op == "between":
        low, high = cast(_Pair, value)  # validated by the compiler
        return Predicate(op, (low, high))
    return Predicate(op, value)
