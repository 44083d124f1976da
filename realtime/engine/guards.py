"""Guard arithmetic: deterministic holdout and variant draws, local time, rolling counts."""

from __future__ import annotations

import datetime as dt
import hashlib
from bisect import bisect_right

from .compiler import QuietHours, Variant

_SCALE = float(2**64)


def draw(salt: str, campaign_id: int, customer_id: str) -> float:
    """A number in [0, 1) fixed by (salt, campaign, customer): same customer, same group."""
    digest = hashlib.blake2b(f"{salt}:{campaign_id}:{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def is_held_out(share: float, campaign_id: int, customer_id: str) -> bool:
    return share > 0 and draw("holdout", campaign_id, customer_id) < share


def pick_variant(variants: tuple[Variant, ...], campaign_id: int, customer_id: str) -> Variant:
    if len(variants) == 1:
        return variants[0]
    point = draw("variant", campaign_id, customer_id)
    total = 0.0
    for variant in variants:
        total += variant.share
        if point < total:
            return variant
    return variants[-1]


def quiet_until(quiet: QuietHours, at: float, tz: dt.tzinfo) -> float | None:
    """End of the quiet period containing ``at`` (epoch seconds), or None when not quiet."""
    local = dt.datetime.fromtimestamp(at, tz)
    if not quiet.contains(local.hour * 60 + local.minute):
        return None
    end = local.replace(
        hour=quiet.end_minute // 60, minute=quiet.end_minute % 60, second=0, microsecond=0
    )
    if end <= local:
        end += dt.timedelta(days=1)  # wall-clock arithmetic: correct across DST changes
    return end.timestamp()


def local_clock(at: float, tz: dt.tzinfo) -> str:
    return dt.datetime.fromtimestamp(at, tz).strftime("%H:%M")


def local_day_start(at: float, tz: dt.tzinfo) -> float:
    local = dt.datetime.fromtimestamp(at, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def local_midnight(day: dt.date, tz: dt.tzinfo) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def count_since(history: list[float] | None, since: float | None) -> int:
    """Entries after ``since`` (None = all) in a sorted history."""
    if not history:
        return 0
    if since is None:
        return len(history)
    return len(history) - bisect_right(history, since)


def remember(history: list[float], at: float, keep_after: float | None) -> None:
    """Add ``at`` and forget what no guard will look at again."""
    if history and at < history[-1]:
        history.insert(bisect_right(history, at), at)
    else:
        history.append(at)
    if keep_after is not None and history[0] <= keep_after:
        del history[: bisect_right(history, keep_after)]
