"""The seam between the live driver and the pure engine core.

Everything the worker asks of the core goes through :class:`PartitionEngine` (one per owned
partition: the keyed state of that partition's customers plus the shared plan), so a change in
the core's API is absorbed here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from realtime.engine.errors import SpecErrors
from realtime.engine.model import BatchResult, Event
from realtime.engine.plan import Plan, RuleSource, build_plan
from realtime.engine.state import CustomerState
from realtime.live.readers import MirrorProfiles, NoScores, NoSegments, RedisBudget

logger = logging.getLogger(__name__)


def plan_build(sources: Sequence[RuleSource]) -> tuple[Plan, list[str]]:
    """The plan of every source that compiles; a campaign that no longer compiles (it was
    published under older rules) is left out and named, instead of stopping every campaign."""
    try:
        return build_plan(sources), []
    except SpecErrors:
        pass
    good: list[RuleSource] = []
    errors: list[str] = []
    for source in sources:
        try:
            build_plan([*good, source])
        except SpecErrors as failure:
            errors.append(
                f"campaign {source.campaign_id} v{source.version}: "
                + "; ".join(error.message for error in failure.errors)
            )
            continue
        good.append(source)
    return build_plan(good), errors


class PartitionEngine:
    """The core's evaluator over one partition's customers."""

    def __init__(self, plan: Plan | None) -> None:
        from realtime import streams
        from realtime.engine.evaluator import Evaluator

        self.profiles = MirrorProfiles()
        self.evaluator = Evaluator(
            plan or build_plan([]),
            profiles=self.profiles,
            segments=NoSegments(),
            scores=NoScores(),
            budget=RedisBudget(streams.redis_client()),
        )

    # --- evaluation ---------------------------------------------------------------------------

    def process(self, events: Sequence[Event], now: float) -> BatchResult:
        return self.evaluator.process(list(events), now=now)

    def fire_due(self, now: float) -> BatchResult:
        return self.evaluator.fire_due(now=now)

    def next_due(self) -> float | None:
        return self.evaluator.next_due()

    def timers_pending(self) -> int:
        return self.evaluator.timers_pending()

    def customers(self) -> int:
        return len(self.evaluator.states)

    # --- state --------------------------------------------------------------------------------

    def snapshot(self, customer_ids: Iterable[str]) -> dict[str, bytes | None]:
        states = self.evaluator.states
        out: dict[str, bytes | None] = {}
        for customer_id in customer_ids:
            state = states.get(customer_id)
            out[customer_id] = None if state is None or state.is_empty() else state.to_bytes()
        return out

    def restore(self, blobs: Mapping[str, bytes | None]) -> None:
        states = {
            customer_id: CustomerState.from_bytes(blob)
            for customer_id, blob in blobs.items()
            if blob is not None
        }
        self.evaluator.restore(states, forget=[c for c, blob in blobs.items() if blob is None])

    def plan_set(self, plan: Plan) -> None:
        self.evaluator.plan_set(plan)


def engine_build(plan: Plan | None) -> PartitionEngine:
    return PartitionEngine(plan)
