"""Redis-backed implementations of the engine core's reader and budget protocols."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
import redis

from realtime import streams
from realtime.live import keys, scripts

_EMPTY: Mapping[str, object] = {}


def _profiles_get_many(customer_ids: list[str]) -> dict[str, dict[str, object]]:
    try:  # the ingest side's selector, when present (one MGET)
        from segments.selectors import profile_mirror_get_many
    except ImportError:
        profile_mirror_get_many = None
    if profile_mirror_get_many is not None:
        return dict(profile_mirror_get_many(customer_ids))
    values = streams.redis_client().mget([streams.key("profile", c) for c in customer_ids])
    return {
        customer_id: orjson.loads(value)
        for customer_id, value in zip(customer_ids, values, strict=True)
        if value
    }


class MirrorProfiles:
    """Profiles from the Redis mirror, fetched once per batch (one MGET). Facts set by rules in
    the same pass are overlaid by the core itself; they reach the mirror before the checkpoint."""

    def __init__(self) -> None:
        self.cache: dict[str, Mapping[str, object]] = {}

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(customer_ids))
        self.cache = _profiles_get_many(wanted) if wanted else {}

    def get(self, customer_id: str) -> Mapping[str, object]:
        return self.cache.get(customer_id, _EMPTY)


class RedisBudget:
    """Issuance budgets shared by every worker: an atomic "INCR if below the limit" in Lua."""

    def __init__(self, client: redis.Redis) -> None:
        self._spend = client.register_script(scripts.BUDGET_SPEND)

    def try_spend(self, campaign_id: int, limit: int) -> bool:
        return bool(int(self._spend(keys=[keys.budget(campaign_id)], args=[limit])))


def profile_facts_write(updates: dict[str, dict[str, object]]) -> None:
    """Facts set by rules, written back to the profile (PostgreSQL and the mirror)."""
    if not updates:
        return
    try:
        from segments.services import customer_facts_apply
    except ImportError:
        customer_facts_apply = None
    if customer_facts_apply is not None:
        customer_facts_apply(updates=list(updates.items()))
        return
    # Until the profile service lands: merge into the Redis mirror directly.
    client = streams.redis_client()
    ids = list(updates)
    current = client.mget([streams.key("profile", c) for c in ids])
    pipe = client.pipeline(transaction=False)
    for customer_id, value in zip(ids, current, strict=True):
        profile = orjson.loads(value) if value else {}
        for name, fact in updates[customer_id].items():
            if fact is None:
                profile.pop(name, None)
            else:
                profile[name] = fact
        pipe.set(streams.key("profile", customer_id), orjson.dumps(profile))
    pipe.execute()
