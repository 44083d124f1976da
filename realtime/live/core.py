"""The seam between the live driver and the pure engine core.

Everything the worker asks of the core goes through :class:`PartitionEngine` (one per owned
partition: the keyed state of that partition's customers plus the shared plan), so a change in
the core's API is absorbed here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from realtime.engine.errors import SpecErrors
from realtime.engine.evaluator import Engine
from realtime.engine.model import BatchResult, Event
from realtime.engine.plan import OfferLimit, Plan, RuleSource, build_plan
from realtime.live.readers import MirrorProfiles, RedisBudget

logger = logging.getLogger(__name__)


def plan_build(
    sources: Sequence[RuleSource], offers: Mapping[str, OfferLimit] | None = None
) -> tuple[Plan, list[str]]:
    """The plan of every source that compiles; a campaign that no longer compiles (it was
    published under older rules) is left out and named, instead of stopping every campaign."""
    try:
        return build_plan(sources, offers=offers), []
    except SpecErrors:
        pass
    good: list[RuleSource] = []
    errors: list[str] = []
    for source in sources:
        try:
            build_plan([*good, source], offers=offers)
        except SpecErrors as failure:
            errors.append(
                f"campaign {source.campaign_id} v{source.version}: "
                + "; ".join(error.message for error in failure.errors)
            )
            continue
        good.append(source)
    return build_plan(good, offers=offers), errors


class PartitionEngine:
    """The core's :class:`~realtime.engine.Engine` over one partition's customers."""

    def __init__(
        self,
        plan: Plan | None,
        *,
        profiles: MirrorProfiles | None = None,
        budget: RedisBudget | None = None,
    ) -> None:
        from realtime import streams

        self.engine = Engine(
            plan or build_plan([]),
            profiles=profiles or MirrorProfiles(),
            budget=budget or RedisBudget(streams.redis_client()),
        )

    # --- evaluation ---------------------------------------------------------------------------

    def process(self, events: Sequence[Event], now: float) -> BatchResult:
        """Evaluates ``events`` in order, then fires every timer due by ``now``."""
        return self.engine.process(events, now=now)

    def fire_due(self, now: float) -> BatchResult:
        return self.engine.fire_timers(now=now)

    def next_due(self) -> float | None:
        return self.engine.next_timer_due()

    def timers_pending(self) -> int:
        return sum(len(state.timers) for state in self.engine.states.values() if state.timers)

    def customers(self) -> int:
        return len(self.engine.states)

    # --- state --------------------------------------------------------------------------------

    def snapshot(self, customer_ids: Iterable[str]) -> dict[str, bytes | None]:
        snapshot_bytes = self.engine.snapshot_bytes
        return {customer_id: snapshot_bytes(customer_id) for customer_id in customer_ids}

    def restore(self, blobs: Mapping[str, bytes | None]) -> None:
        restore = self.engine.restore
        for customer_id, blob in blobs.items():
            restore(customer_id, blob)

    def plan_set(self, plan: Plan) -> None:
        """Hot reload: the state of every customer is kept (the core keys it by content, so
        campaigns whose version did not change continue where they were)."""
        self.engine.replace_plan(plan)


def engine_build(
    plan: Plan | None,
    *,
    profiles: MirrorProfiles | None = None,
    budget: RedisBudget | None = None,
) -> PartitionEngine:
    """The worker passes the profiles and budget it shares between its partitions."""
    return PartitionEngine(plan, profiles=profiles, budget=budget)
