"""AND / OR / NOT groups, and ``where`` clauses (groups of event-attribute predicates)."""

from __future__ import annotations

from collections.abc import Mapping

from ..codegen import CodeGen
from ..model import ExplanationItem
from .attribute import parse_attr_for
from .base import (
    MAX_NESTING,
    Condition,
    EvalContext,
    ParseContext,
    join,
    register,
    type_name,
)


def child_label(label: str, index: int) -> str:
    if label == "Conditions":
        return f"Condition {index + 1}"
    return f"{label}.{index + 1}"


class AllCondition(Condition):
    type_id = "all"

    def __init__(self, path: str, label: str, items: tuple[Condition, ...]) -> None:
        super().__init__(path, label)
        self.items = items
        # Cheap checks first on the fast path; explanations keep the marketer's order.
        self.fast_items = tuple(sorted(items, key=lambda item: item.cost))
        self.cost = max((item.cost for item in items), default=0)

    def test(self, c: EvalContext) -> bool:
        return all(item.test(c) for item in self.fast_items)

    def source(self, gen: CodeGen) -> str:
        if not self.fast_items:
            return "True"
        return "(" + " and ".join(item.source(gen) for item in self.fast_items) + ")"

    def children(self) -> tuple[Condition, ...]:
        return self.items

    def describe(self) -> str:
        return f"all of {len(self.items)} conditions hold"

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        lines: list[ExplanationItem] = []
        held = True
        for item in self.items:
            child = item.explain(c)
            held = held and child[0].held
            lines.extend(child)
        return [self.item(held, {}), *lines]


class AnyCondition(AllCondition):
    type_id = "any"

    def test(self, c: EvalContext) -> bool:
        return any(item.test(c) for item in self.fast_items)

    def source(self, gen: CodeGen) -> str:
        if not self.fast_items:
            return "False"
        return "(" + " or ".join(item.source(gen) for item in self.fast_items) + ")"

    def describe(self) -> str:
        return f"at least one of {len(self.items)} conditions holds"

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        lines: list[ExplanationItem] = []
        held = False
        for item in self.items:
            child = item.explain(c)
            held = held or child[0].held
            lines.extend(child)
        return [self.item(held, {}), *lines]


class NotCondition(Condition):
    type_id = "not"

    def __init__(self, path: str, label: str, inner: Condition) -> None:
        super().__init__(path, label)
        self.inner = inner
        self.cost = inner.cost

    def test(self, c: EvalContext) -> bool:
        return not self.inner.test(c)

    def source(self, gen: CodeGen) -> str:
        return f"(not {self.inner.source(gen)})"

    def children(self) -> tuple[Condition, ...]:
        return (self.inner,)

    def describe(self) -> str:
        return f"not ({self.inner.describe()})"

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        inner = self.inner.explain(c)
        head = inner[0]
        return [self.item(not head.held, dict(head.values)), *inner]


def _parse_group_items(
    ctx: ParseContext,
    block: Mapping[str, object],
    key: str,
    path: str,
    label: str,
    event: str | None,
    depth: int,
    *,
    where_only: bool,
) -> tuple[Condition, ...] | None:
    ctx.check_keys(block, path, label, (key,))
    items = block.get(key)
    items_path = join(path, key)
    if not isinstance(items, list) or not items:
        ctx.error(
            items_path, f"{label}: '{key}' needs a list of conditions, not {type_name(items)}."
        )
        return None
    parsed: list[Condition] = []
    for index, raw in enumerate(items):
        item_path = join(items_path, index)
        item_label = child_label(label, index)
        if where_only:
            condition = parse_where(ctx, raw, item_path, item_label, event, depth + 1)
        else:
            condition = ctx.parse_condition(raw, item_path, item_label, event, depth + 1)
        if condition is None:
            if ctx.too_complex:
                return None
            continue
        parsed.append(condition)
    if len(parsed) != len(items):
        return None
    return tuple(parsed)


def _group(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    event: str | None,
    depth: int,
    *,
    where_only: bool,
) -> Condition | None:
    if "all" in block or "any" in block:
        key = "all" if "all" in block else "any"
        items = _parse_group_items(
            ctx, block, key, path, label, event, depth, where_only=where_only
        )
        if items is None:
            return None
        kind = AllCondition if key == "all" else AnyCondition
        return kind(path, label, items)
    ctx.check_keys(block, path, label, ("not",))
    inner_path = join(path, "not")
    if where_only:
        inner = parse_where(ctx, block.get("not"), inner_path, label, event, depth + 1)
    else:
        inner = ctx.parse_condition(block.get("not"), inner_path, label, event, depth + 1)
    if inner is None:
        return None
    return NotCondition(path, label, inner)


@register("all")
def parse_all(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    return _group(ctx, block, path, label, trigger_event, depth, where_only=False)


# "any" and "not" share the group parser; registering the keys lets the registry dispatch them.
register("any")(parse_all)
register("not")(parse_all)


def parse_where(
    ctx: ParseContext, block: object, path: str, label: str, event: str | None, depth: int = 0
) -> Condition | None:
    """A ``where`` clause: attribute predicates on ``event`` combined with all/any/not."""
    if depth > MAX_NESTING:
        ctx.error(path, f"{label}: groups are nested more than {MAX_NESTING} deep.", "too_complex")
        return None
    if not isinstance(block, Mapping):
        ctx.error(
            path,
            f'{label}: expected a filter such as {{"attr": ..., "op": ..., '
            f'"value": ...}}, got {type_name(block)}.',
        )
        return None
    if not ctx.count_condition(path):
        return None
    if "all" in block or "any" in block or "not" in block:
        return _group(ctx, block, path, label, event, depth, where_only=True)
    if "attr" not in block:
        ctx.error(path, f"{label}: a filter compares an event attribute: it needs 'attr'.")
        return None
    return parse_attr_for(ctx, block, path, label, event)
