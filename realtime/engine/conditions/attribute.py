"""Attribute predicates on the trigger event (``attr``) and on the profile (``profile``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from ..codegen import CodeGen
from ..durations import parse_duration
from ..model import ExplanationItem
from ..predicates import ALL_OPS, MAX_DAYS_TEXT, ORDER_OPS, SET_OPS, Predicate, make_predicate
from .base import (
    MAX_LIST_ITEMS,
    Condition,
    EvalContext,
    ParseContext,
    join,
    register,
    type_name,
)

_SCALARS = (str, int, float, bool)
_NUMERIC_TYPES = ("number", "integer")
_DATE_TYPES = ("date", "datetime")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_predicate(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    name: str,
    declared: str | None,
) -> Predicate | None:
    """Validate ``op``/``value`` of a predicate block; ``declared`` is the registry type."""
    op = block.get("op")
    if not isinstance(op, str) or op not in ALL_OPS:
        choices = ", ".join(ALL_OPS)
        ctx.error(join(path, "op"), f"{label}: '{op}' is not an operator (use one of {choices}).")
        return None
    value = block.get("value")
    value_path = join(path, "value")
    numeric = declared in _NUMERIC_TYPES
    is_date = declared in _DATE_TYPES
    described = {
        "number": "a number",
        "integer": "a whole number",
        "string": "text",
        "boolean": "yes/no",
        "date": "a date",
        "datetime": "a date and time",
        "list": "a list",
        "object": "an object",
    }.get(declared or "", "")

    def fail(message: str) -> None:
        ctx.error(value_path, f"{label}: {message}")

    if op in ("exists", "not_exists"):
        if value is not None:
            fail(f"'{op}' takes no value.")
            return None
        return make_predicate(op, None)
    if op in ("within_next", "within_last"):
        seconds = parse_duration(value)
        if declared and not is_date and declared != "string":
            fail(f"'{name}' is {described}; '{op}' needs a date.")
            return None
        if seconds is None or seconds <= 0:
            fail(f"'{op}' needs a duration such as \"30d\", {MAX_DAYS_TEXT}.")
            return None
        return make_predicate(op, seconds)
    if op in ("=", "!=", "contains"):
        if not isinstance(value, _SCALARS):
            fail(f"'{op}' needs one value (text, a number or yes/no), not {type_name(value)}.")
            return None
        if numeric and op != "contains" and not _is_number(value):
            fail(f"'{name}' is {described}; '{op}' needs a number.")
            return None
        if op == "contains" and declared and declared not in ("string", "list"):
            fail(f"'{name}' is {described}; 'contains' works on text and lists.")
            return None
        return make_predicate(op, value)
    if op in SET_OPS:
        if not isinstance(value, list) or not value:
            fail(f"'{op}' needs a list of values, not {type_name(value)}.")
            return None
        if len(value) > MAX_LIST_ITEMS:
            fail(f"'{op}' takes at most {MAX_LIST_ITEMS} values; use a segment instead.")
            return None
        if not all(isinstance(item, _SCALARS) for item in value):
            fail(f"'{op}' needs a list of plain values (text, numbers or yes/no).")
            return None
        if numeric and not all(_is_number(item) for item in value):
            fail(f"'{name}' is {described}; '{op}' needs a list of numbers.")
            return None
        return make_predicate(op, value)
    if op in ORDER_OPS:
        if numeric and not _is_number(value):
            fail(f"'{name}' is {described}; '{op}' needs a number.")
            return None
        if not _is_number(value) and not isinstance(value, str):
            fail(f"'{op}' needs a number (or a date as text), not {type_name(value)}.")
            return None
        if isinstance(value, str) and declared and not is_date and declared != "string":
            fail(f"'{name}' is {described}; '{op}' needs a number.")
            return None
        return make_predicate(op, value)
    # between
    pair_ok = isinstance(value, list) and len(value) == 2
    if pair_ok:
        low, high = cast("tuple[float, float]", value)  # length checked; texts compare alike
        numbers = _is_number(low) and _is_number(high)
        texts = isinstance(low, str) and isinstance(high, str)
        pair_ok = (numbers or (texts and not numeric)) and low <= high
    if not pair_ok:
        if numeric or declared is None or declared == "":
            fail(f"'{name}' is {described or 'compared'}; 'between' needs two numbers, low first.")
        else:
            fail("'between' needs two values, low first.")
        return None
    return make_predicate(op, value)


class AttrCondition(Condition):
    """A predicate on an attribute of the event being evaluated (the trigger)."""

    type_id = "attr"
    cost = 0

    def __init__(self, path: str, label: str, name: str, predicate: Predicate) -> None:
        super().__init__(path, label)
        self.name = name
        self.predicate = predicate

    def test(self, c: EvalContext) -> bool:
        return self.predicate.check(c.attrs.get(self.name), c.at)

    def matches(self, attrs: Mapping[str, object], at: float) -> bool:
        return self.predicate.check(attrs.get(self.name), at)

    def source(self, gen: CodeGen) -> str:
        return self.predicate.source(f"a.get({self.name!r})", gen)

    def describe(self) -> str:
        return self.predicate.describe(f"'{self.name}'")

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        actual = c.attrs.get(self.name)
        return [self.item(self.predicate.check(actual, c.at), {self.name: actual})]


class ProfileCondition(Condition):
    """A predicate on the customer's profile (facts set by rules included)."""

    type_id = "profile"
    cost = 1

    def __init__(self, path: str, label: str, name: str, predicate: Predicate) -> None:
        super().__init__(path, label)
        self.name = name
        self.predicate = predicate

    def test(self, c: EvalContext) -> bool:
        return self.predicate.check(c.profile().get(self.name), c.at)

    def source(self, gen: CodeGen) -> str:
        return self.predicate.source(f"c.profile().get({self.name!r})", gen)

    def describe(self) -> str:
        return self.predicate.describe(f"profile '{self.name}'")

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        actual = c.profile().get(self.name)
        return [self.item(self.predicate.check(actual, c.at), {self.name: actual})]


def _check_name(ctx: ParseContext, value: object, path: str, label: str, what: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        ctx.error(path, f"{label}: the {what} name must be text, not {type_name(value)}.")
        return None
    return value


@register("attr")
def parse_attr(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    return parse_attr_for(ctx, block, path, label, trigger_event)


def parse_attr_for(
    ctx: ParseContext, block: Mapping[str, object], path: str, label: str, event: str | None
) -> AttrCondition | None:
    ok = ctx.check_keys(block, path, label, ("attr", "op", "value"), ("attr", "op"))
    name = _check_name(ctx, block.get("attr"), join(path, "attr"), label, "attribute")
    if name is None:
        return None
    declared = ctx.attribute_type(event, name)
    if declared == "":
        ctx.error(
            join(path, "attr"),
            f"{label}: event '{event}' has no attribute '{name}'.",
            "unknown_attribute",
        )
        return None
    predicate = parse_predicate(ctx, block, path, label, name, declared)
    if predicate is None or not ok:
        return None
    return AttrCondition(path, label, name, predicate)


@register("profile")
def parse_profile(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    ok = ctx.check_keys(block, path, label, ("profile", "op", "value"), ("profile", "op"))
    name = _check_name(ctx, block.get("profile"), join(path, "profile"), label, "profile field")
    if name is None:
        return None
    declared: str | None = None
    if ctx.profile_attributes is not None:
        declared = ctx.profile_attributes.get(name)
        # facts set by rules may not be declared; only check types of declared fields
    predicate = parse_predicate(ctx, block, path, label, name, declared)
    if predicate is None or not ok:
        return None
    return ProfileCondition(path, label, name, predicate)
