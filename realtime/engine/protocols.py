"""What the engine reads and spends outside its own keyed state, as injectable interfaces.

The live driver backs these with Redis (profiles cached from PostgreSQL, budgets as INCR);
tests, previews and replays use the in-memory implementations below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

_EMPTY: Mapping[str, object] = {}


@runtime_checkable
class ProfileReader(Protocol):
    def prefetch(self, customer_ids: Iterable[str]) -> None:
        """Called once per batch with every customer in it (one pipeline round trip)."""

    def get(self, customer_id: str) -> Mapping[str, object]:
        """The customer's profile; an empty mapping for an unknown customer."""
        ...


@runtime_checkable
class SegmentReader(Protocol):
    def prefetch(self, customer_ids: Iterable[str]) -> None: ...

    def is_member(self, customer_id: str, segment: str) -> bool: ...


@runtime_checkable
class ScoreReader(Protocol):
    def prefetch(self, customer_ids: Iterable[str]) -> None: ...

    def score(self, customer_id: str, model: str) -> float | None: ...


@runtime_checkable
class Budget(Protocol):
    """Cross-customer issuance budgets. ``try_spend`` must be atomic (Redis INCR + check)."""

    def try_spend(self, campaign_id: int, limit: int) -> bool:
        """Take one unit of the campaign's budget; False (and nothing taken) when exhausted."""
        ...


class InMemoryProfiles:
    def __init__(self, profiles: Mapping[str, Mapping[str, object]] | None = None) -> None:
        self.profiles: dict[str, dict[str, object]] = {
            key: dict(value) for key, value in (profiles or {}).items()
        }

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        return None

    def get(self, customer_id: str) -> Mapping[str, object]:
        return self.profiles.get(customer_id, _EMPTY)

    def update(self, customer_id: str, facts: Mapping[str, object]) -> None:
        profile = self.profiles.setdefault(customer_id, {})
        for key, value in facts.items():
            if value is None:
                profile.pop(key, None)
            else:
                profile[key] = value


class InMemorySegments:
    def __init__(self, members: Mapping[str, Iterable[str]] | None = None) -> None:
        self.members: dict[str, set[str]] = {k: set(v) for k, v in (members or {}).items()}

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        return None

    def is_member(self, customer_id: str, segment: str) -> bool:
        members = self.members.get(segment)
        return members is not None and customer_id in members


class InMemoryScores:
    def __init__(self, scores: Mapping[str, Mapping[str, float]] | None = None) -> None:
        """``scores[model][customer_id]``."""
        self.scores: dict[str, dict[str, float]] = {k: dict(v) for k, v in (scores or {}).items()}

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        return None

    def score(self, customer_id: str, model: str) -> float | None:
        return self.scores.get(model, {}).get(customer_id)


class InMemoryBudget:
    def __init__(self) -> None:
        self.spent: dict[int, int] = {}

    def try_spend(self, campaign_id: int, limit: int) -> bool:
        spent = self.spent.get(campaign_id, 0)
        if spent >= limit:
            return False
        self.spent[campaign_id] = spent + 1
        return True
