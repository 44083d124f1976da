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


class _Collected:
    """Outputs gathered across calls (lists, so long runs stay linear)."""

    def __init__(self) -> None:
        self.results: list[BatchResult] = []

    def add(self, result: BatchResult) -> None:
        self.results.append(result)

    def result(self) -> BatchResult:
        results = self.results
        return BatchResult(
            decisions=tuple(d for r in results for d in r.decisions),
            conversions=tuple(c for r in results for c in r.conversions),
            profile_updates=tuple(u for r in results for u in r.profile_updates),
            emitted_events=tuple(e for r in results for e in r.emitted_events),
            dirty_customers=frozenset(c for r in results for c in r.dirty_customers),
            timers_scheduled=tuple(t for r in results for t in r.timers_scheduled),
            warnings=tuple(w for r in results for w in r.warnings),
            events_processed=sum(r.events_processed for r in results),
            timers_fired=sum(r.timers_fired for r in results),
        )


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
        self.now = -math.inf
        self._all = _Collected()

    @property
    def result(self) -> BatchResult:
        """Everything every call so far produced."""
        return self._all.result()

    def run(self, events: Iterable[Event], *, until: float | None = None) -> BatchResult:
        """Process ``events`` (sorted by ``ts``, stable), then fire timers up to ``until``.

        Returns what this call produced.
        """
        produced = _Collected()
        for event in sorted(events, key=lambda item: item.ts):
            if event.ts > self.now:
                # timers due strictly before the event, for every customer, fire first
                self._apply(self.engine.fire_timers(now=math.nextafter(event.ts, -math.inf)),
                            produced)  # fmt: skip
                self.now = event.ts
            self._apply(self.engine.process([event], now=event.ts), produced)
            if event.type == PROFILE_UPDATED:
                self.profiles.update(event.customer_id, event.attributes)
        if until is not None:
            self._apply(self._fire(until), produced)
        return produced.result()

    def advance(self, now: float) -> BatchResult:
        """Let time pass without events: fire every timer due at or before ``now``."""
        produced = _Collected()
        self._apply(self._fire(now), produced)
        return produced.result()

    def _fire(self, now: float) -> BatchResult:
        self.now = max(self.now, now)
        return self.engine.fire_timers(now=now)

    def _apply(self, result: BatchResult, produced: _Collected) -> None:
        for update in result.profile_updates:
            self.profiles.update(update.customer_id, update.facts)
        produced.add(result)
        self._all.add(result)
