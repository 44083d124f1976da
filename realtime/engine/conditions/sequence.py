"""``{"sequence": [{"event", "where"?}, ...], "within": T, "same"?: [...]}``.

The trigger is the last step. Each step's events are kept in a (shared) stream; at evaluation we
walk back from the trigger, taking for each earlier step the latest matching event before the
one chosen for the next step. Taking the latest is optimal for "does such a chain exist within T"
because it leaves the most room for the steps before it.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Mapping
from typing import cast

from ..durations import format_duration
from ..model import ExplanationItem
from .base import MAX_SEQUENCE_STEPS, Condition, EvalContext, ParseContext, join, register
from .window import Stream, make_stream, parse_same, parse_within, same_key


class SequenceCondition(Condition):
    type_id = "sequence"
    cost = 2

    def __init__(
        self,
        path: str,
        label: str,
        steps: tuple[Stream, ...],
        within: float,
        same: tuple[str, ...],
    ) -> None:
        super().__init__(path, label)
        self.steps = steps
        self.within = within
        self.same = same
        self._reversed = tuple(reversed(steps))

    def matched_steps(self, c: EvalContext) -> int:
        """How many steps, counted back from the trigger, could be matched (all = held)."""
        last = self.steps[-1]
        if c.event != last.event or (last.where is not None and not last.where(c.attrs)):
            return 0
        state = c.state
        if state is None:
            return 0
        windows = state.windows
        key = None
        if self.same:
            key = same_key(c.attrs, self.same)
            if key is None:
                return 0
        anchor = c.anchor
        lower = anchor - self.within
        bound = anchor
        used: dict[str, int] = {}
        matched = 0
        for stream in self._reversed:
            data = windows.get(stream.key)
            if data is not None and key is not None:
                data = data.get(key)  # type: ignore[attr-defined]  # keyed stream is a dict
            if not data:
                return matched
            stamps = cast("array[float]", data)  # step streams hold timestamps
            high = bisect_right(stamps, bound)
            previous = used.get(stream.key)
            if previous is not None and previous < high:
                high = previous
            index = high - 1
            if index < 0:
                return matched
            moment = stamps[index]
            if moment <= lower:
                return matched
            used[stream.key] = index
            bound = moment
            matched += 1
        return matched

    def test(self, c: EvalContext) -> bool:
        return self.matched_steps(c) == len(self.steps)

    def describe(self) -> str:
        names = " then ".join(f"'{step.event}'" for step in self.steps)
        text = f"{names} within {format_duration(self.within)}"
        if self.same:
            text += " with the same " + ", ".join(f"'{name}'" for name in self.same)
        return text

    def explain(self, c: EvalContext) -> list[ExplanationItem]:
        matched = self.matched_steps(c)
        held = matched == len(self.steps)
        return [self.item(held, {"steps_matched": matched, "steps": len(self.steps)})]


@register("sequence")
def parse_sequence(
    ctx: ParseContext,
    block: Mapping[str, object],
    path: str,
    label: str,
    trigger_event: str | None,
    depth: int,
) -> Condition | None:
    if not ctx.check_keys(block, path, label, ("sequence", "within", "same"), ("within",)):
        return None
    raw_steps = block.get("sequence")
    steps_path = join(path, "sequence")
    if not isinstance(raw_steps, list) or len(raw_steps) < 2:
        ctx.error(steps_path, f"{label}: a sequence needs at least two steps.")
        return None
    if len(raw_steps) > MAX_SEQUENCE_STEPS:
        ctx.error(
            steps_path,
            f"{label}: a sequence has at most {MAX_SEQUENCE_STEPS} steps.",
            "too_complex",
        )
        return None
    within = parse_within(ctx, block.get("within"), join(path, "within"), label)
    events = tuple(
        step.get("event")
        if isinstance(step, Mapping) and isinstance(step.get("event"), str)
        else None
        for step in raw_steps
    )
    same = parse_same(ctx, block.get("same"), join(path, "same"), label, events)
    if within is None or same is None:
        return None
    streams: list[Stream] = []
    for index, step in enumerate(raw_steps):
        step_path = join(steps_path, index)
        step_label = f"{label}, step {index + 1}"
        if not isinstance(step, Mapping):
            ctx.error(step_path, f"{step_label}: a step needs an 'event'.")
            return None
        if not ctx.check_keys(step, step_path, step_label, ("event", "where"), ("event",)):
            return None
        stream = make_stream(ctx, step, step_path, step_label, same, None, within)
        if stream is None:
            return None
        streams.append(stream)
    if trigger_event is not None and streams[-1].event != trigger_event:
        ctx.error(
            join(join(steps_path, len(raw_steps) - 1), "event"),
            f"{label}: the last step of a sequence is the trigger, so it must be "
            f"'{trigger_event}'.",
            "sequence_trigger",
        )
        return None
    return SequenceCondition(path, label, tuple(streams), within, same)
