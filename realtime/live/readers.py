"""Redis-backed implementations of the engine core's reader and budget protocols."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
import redis

from realtime import streams
from realtime.live import keys, scripts

_EMPTY: Mapping[str, object] = {}


def _profiles_get_many(customer_ids: list[str]) -> dict[str, dict[str, object]]:
    """The mirrored traits of these customers in one MGET (the key layout of
    ``segments.selectors.profile_mirror_get_many``: ``streams.profile_key``), with the key
    prefix looked up once per call rather than once per customer (the hot path)."""
    prefix = streams.profile_key("")
    values = streams.redis_client().mget([prefix + customer_id for customer_id in customer_ids])
    loads = orjson.loads
    return {
        customer_id: loads(value)
        for customer_id, value in zip(customer_ids, values, strict=True)
        if value is not None
    }


class MirrorProfiles:
    """Profiles from the Redis mirror, fetched once per batch (one MGET). Facts set by rules in
    the same pass are overlaid by the core itself; they reach the mirror before the checkpoint.

    The worker shares one instance between the partitions it owns and loads the profiles of a
    whole loop turn in one MGET (:meth:`turn_load`); the core's per-partition ``prefetch`` then
    finds them there instead of paying a round trip per partition."""

    def __init__(self) -> None:
        self.cache: dict[str, Mapping[str, object]] = {}
        self._turn = False

    def turn_load(
        self,
        customer_ids: Iterable[str],
        overlay: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        """``overlay``: facts set by rules that are not in the mirror yet (the turn still being
        committed); ``None`` values remove a fact."""
        wanted = list(dict.fromkeys(customer_ids))
        found = _profiles_get_many(wanted) if wanted else {}
        cache = {customer_id: found.get(customer_id, _EMPTY) for customer_id in wanted}
        for customer_id, facts in (overlay or {}).items():
            if customer_id in cache:
                merged = {**cache[customer_id], **facts}
                cache[customer_id] = {k: v for k, v in merged.items() if v is not None}
        self.cache = cache
        self._turn = True

    def turn_end(self) -> None:
        self.cache = {}
        self._turn = False

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        if self._turn:
            cache = self.cache
            missing = [c for c in dict.fromkeys(customer_ids) if c not in cache]
            if missing:
                found = _profiles_get_many(missing)
                cache.update({c: found.get(c, _EMPTY) for c in missing})
            return
        wanted = list(dict.fromkeys(customer_ids))
        self.cache = _profiles_get_many(wanted) if wanted else {}

    def get(self, customer_id: str) -> Mapping[str, object]:
        return self.cache.get(customer_id, _EMPTY)


class RedisBudget:
    """Issuance budgets shared by every worker: an atomic "take up to n units if below the
    limit" in Lua (``scripts.BUDGET_RESERVE``).

    A round trip per offer would stall the worker's loop, so units are reserved a few at a time
    (at most ``CHUNK``, and one at a time once less than ``CHUNK * SPREAD`` units are left, so
    the last units of a budget go exactly as they would one by one). Units reserved and not yet
    spent are given back by :meth:`release` (plan change, shutdown); a worker killed with
    ``kill -9`` loses its few reserved units: a budget is never exceeded, at worst it issues up
    to ``CHUNK - 1`` fewer offers per crash."""

    CHUNK = 16
    SPREAD = 8

    def __init__(self, client: redis.Redis) -> None:
        self._reserve = client.register_script(scripts.BUDGET_RESERVE)
        self._give_back = client.register_script(scripts.BUDGET_GIVE_BACK)
        self.reserved: dict[tuple[int, int], int] = {}

    def try_spend(self, campaign_id: int, limit: int) -> bool:
        held = self.reserved.get((campaign_id, limit), 0)
        if held <= 0:
            held = int(
                self._reserve(
                    keys=[keys.budget(campaign_id)], args=[limit, self.CHUNK, self.SPREAD]
                )
            )
            if held <= 0:
                return False
        self.reserved[(campaign_id, limit)] = held - 1
        return True

    def release(self) -> None:
        """Gives the reserved, unspent units back to their budgets (one round trip)."""
        unspent = [(campaign, n) for (campaign, _), n in self.reserved.items() if n > 0]
        self.reserved = {}
        for campaign_id, units in unspent:
            self._give_back(keys=[keys.budget(campaign_id)], args=[units])


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
