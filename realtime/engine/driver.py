"""The in-memory driver: a list of events -> the same evaluator, in event-time order.

Used by tests, the designer's "test with an event" and anything that replays a finite log. The
replay driver (PostgreSQL archive) and the live driver (Redis Streams) do the same three things
with I/O around them: feed batches with ``now``, fire timers, write back profile updates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .evaluator import Engine
from .model import PROFILE_UPDATED, BatchResult, Event
from .plan import Plan
from .protocols import Budget, InMemoryBudget, InMemoryProfiles, ScoreReader, SegmentReader


class InMemoryDriver:
    """Runs events in timestamp order; ``now`` follows event time, so timers fire in between."""

    def __init__(
        self,
        plan: Plan,
        *,
        profiles: InMemoryProfiles | None = None,
        segments: SegmentReader | None = None,
        scores: ScoreReader | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.profiles = profiles if profiles is not None else InMemoryProfiles()
        self.budget = budget if budget is not None else InMemoryBudget()
        self.engine = Engine(
            plan, profiles=self.profiles, segments=segments, scores=scores, budget=self.budget
        )
        self.result = BatchResult()
        self.now = -math.inf

    def run(self, events: Iterable[Event], *, until: float | None = None) -> BatchResult:
        """Process ``events`` (sorted by ``ts``, stable), then fire timers up to ``until``.

        Returns what this call produced; ``self.result`` accumulates every call's output.
        """
        produced = BatchResult()
        for event in sorted(events, key=lambda item: item.ts):
            if event.ts > self.now:
                # timers due strictly before the event, for every customer, fire first
                produced = produced.merged(
                    self._apply(self.engine.fire_timers(now=math.nextafter(event.ts, -math.inf)))
                )
                self.now = event.ts
            produced = produced.merged(self._apply(self.engine.process([event], now=event.ts)))
            if event.type == PROFILE_UPDATED:
                self.profiles.update(event.customer_id, event.attributes)
        if until is not None:
            produced = produced.merged(self.advance(until))
        return produced

    def advance(self, now: float) -> BatchResult:
        """Let time pass without events: fire every timer due at or before ``now``."""
        self.now = max(self.now, now)
        return self._apply(self.engine.fire_timers(now=now))

    def _apply(self, result: BatchResult) -> BatchResult:
        for update in result.profile_updates:
            self.profiles.update(update.customer_id, update.facts)
        self.result = self.result.merged(result)
        return result
