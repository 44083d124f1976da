"""Segment membership and model scores, read through injected readers (see protocols.py)."""

from __future__ import annotations

from collections.abc import Mapping

from ..codegen import CodeGen
from ..model import ExplanationItem
from ..predicates import Predicate
from .attribute import parse_predicate
from .base import Condition, EvalContext, ParseContext, join, register, type_name


class SegmentCondition(Condition):
    type_id = "segment"
    cost = 3

    def __init__(self, path: str, label: str, segment: str) -> None:
        super().__init__(path, label)
        self.segment = segment

    def test(self, c: EvalContext) -> bool:
        return c.segment(self.segment)

    def source(self, gen: CodeGen) -> str:
        return f"c.segment({self.segment!r})"

    def describe(self) -> str:
        return f"the customer is in segment '{self.segment}'"

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        member = c.segment(self.segment)
        return [self.item(member, {"member": member})]


class ScoreCondition(Condition):
    type_id = "score"
    cost = 3

    def __init__(self, path: str, label: str, model: str, predicate: Predicate) -> None:
        super().__init__(path, label)
        self.model = model
        self.predicate = predicate

    def test(self, c: EvalContext) -> bool:
        return self.predicate.check(c.score(self.model), c.at)

    def source(self, gen: CodeGen) -> str:
        return self.predicate.source(f"c.score({self.model!r})", gen)

    def describe(self) -> str:
        return self.predicate.describe(f"score '{self.model}'")

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        score = c.score(self.model)
        return [self.item(self.predicate.check(score, c.at), {"score": score})]


def _name(ctx: ParseContext, value: object, path: str, label: str, what: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        ctx.error(path, f"{label}: the {what} must be named, not {type_name(value)}.")
        return None
    return value


@register("segment")
def parse_segment(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    if not ctx.check_keys(block, path, label, ("segment",)):
        return None
    name = _name(ctx, block.get("segment"), join(path, "segment"), label, "segment")
    return None if name is None else SegmentCondition(path, label, name)


@register("score")
def parse_score(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    ok = ctx.check_keys(block, path, label, ("score", "op", "value"), ("score", "op"))
    name = _name(ctx, block.get("score"), join(path, "score"), label, "model score")
    predicate = parse_predicate(ctx, block, path, label, f"score {name}", "number")
    if name is None or predicate is None or not ok:
        return None
    return ScoreCondition(path, label, name, predicate)
