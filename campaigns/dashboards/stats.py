"""The statistics of the campaign dashboards: rates, lift against the control group, ROI, alerts.

Pure Python (``math`` only, no Django), so every figure can be checked by hand in a test.

Lift compares the conversion rate of customers who got the offer with the rate of the held-out
control group. The headline interval is Newcombe's hybrid score interval for a difference of
proportions (Newcombe 1998, method 10: Wilson intervals of both rates combined), which keeps
its coverage with small counts and rates near 0 or 1 where the Wald interval does not; the Wald
interval is reported next to it because it is the one analysts can redo on a napkin. Relative
lift is the rate ratio minus one, with the Katz log interval of the ratio.

References: R. G. Newcombe, "Interval estimation for the difference between independent
proportions: comparison of eleven methods", Statistics in Medicine 17 (1998) 873-890;
D. Katz et al., "Obtaining confidence intervals for the risk ratio in cohort studies",
Biometrics 34 (1978) 469-474.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: the two-sided 97.5 % quantile of the standard normal distribution
Z_95 = 1.959963984540054

#: below this many customers in either group the dashboard says "too little data" instead of a
#: verdict (the intervals are still computed and shown)
MINIMUM_GROUP_SIZE = 30

Verdict = Literal["better", "worse", "not_significant", "insufficient_data", "no_control"]


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def as_list(self) -> list[float]:
        return [self.low, self.high]


def rate(successes: float, trials: float) -> float | None:
    """``successes / trials``, or None when there were no trials (a rate of nothing is unknown,
    not zero)."""
    if trials <= 0:
        return None
    return successes / trials


def wilson_interval(successes: int, trials: int, *, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of one proportion."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def difference_wald(x1: int, n1: int, x2: int, n2: int, *, z: float = Z_95) -> Interval | None:
    """Wald interval of ``x1/n1 - x2/n2``: the difference plus or minus z standard errors."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    error = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    difference = p1 - p2
    return Interval(difference - z * error, difference + z * error)


def difference_newcombe(x1: int, n1: int, x2: int, n2: int, *, z: float = Z_95) -> Interval | None:
    """Newcombe's hybrid score interval of ``x1/n1 - x2/n2`` (method 10)."""
    first = wilson_interval(x1, n1, z=z)
    second = wilson_interval(x2, n2, z=z)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    difference = p1 - p2
    below = math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    above = math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(difference - below, difference + above)


def ratio_katz(x1: int, n1: int, x2: int, n2: int, *, z: float = Z_95) -> Interval | None:
    """Katz log interval of the rate ratio ``(x1/n1) / (x2/n2)``; None when either count is 0
    (the log of the ratio is then unbounded)."""
    if n1 <= 0 or n2 <= 0 or x1 <= 0 or x2 <= 0:
        return None
    ratio = (x1 / n1) / (x2 / n2)
    error = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    return Interval(ratio * math.exp(-z * error), ratio * math.exp(z * error))


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 1.0
    score = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return math.erfc(abs(score) / math.sqrt(2))


@dataclass(frozen=True, slots=True)
class Lift:
    """Offer versus control: rates, absolute and relative lift with 95 % intervals, verdict."""

    offer_conversions: int
    offer_total: int
    control_conversions: int
    control_total: int
    rate_offer: float | None
    rate_control: float | None
    absolute: float | None  # rate_offer - rate_control, a difference of proportions
    interval: Interval | None  # Newcombe
    interval_wald: Interval | None
    relative: float | None  # rate_offer / rate_control - 1
    relative_interval: Interval | None  # Katz interval of the ratio, minus one
    p_value: float | None
    verdict: Verdict

    @property
    def is_significant(self) -> bool:
        return self.verdict in ("better", "worse")

    def as_dict(self) -> dict[str, object]:
        return {
            "offer_conversions": self.offer_conversions,
            "offer_total": self.offer_total,
            "control_conversions": self.control_conversions,
            "control_total": self.control_total,
            "rate_offer": self.rate_offer,
            "rate_control": self.rate_control,
            "absolute": self.absolute,
            "interval": self.interval.as_list() if self.interval else None,
            "interval_wald": self.interval_wald.as_list() if self.interval_wald else None,
            "relative": self.relative,
            "relative_interval": (
                self.relative_interval.as_list() if self.relative_interval else None
            ),
            "p_value": self.p_value,
            "is_significant": self.is_significant,
            "verdict": self.verdict,
        }


def lift(
    *,
    offer_conversions: int,
    offer_total: int,
    control_conversions: int,
    control_total: int,
    minimum_group_size: int = MINIMUM_GROUP_SIZE,
    z: float = Z_95,
) -> Lift:
    """Lift of the offer over the control group.

    The verdict is "better"/"worse" when the Newcombe interval excludes zero, "not_significant"
    when it contains zero, "insufficient_data" when either group is smaller than
    ``minimum_group_size`` and "no_control" when the campaign has no held-out customers.
    """
    for name, value in (
        ("offer_conversions", offer_conversions),
        ("offer_total", offer_total),
        ("control_conversions", control_conversions),
        ("control_total", control_total),
    ):
        if value < 0:
            raise ValueError(f"{name} must not be negative (got {value})")
    if offer_conversions > offer_total:
        raise ValueError("offer_conversions must not exceed offer_total")
    if control_conversions > control_total:
        raise ValueError("control_conversions must not exceed control_total")
    rate_offer = rate(offer_conversions, offer_total)
    rate_control = rate(control_conversions, control_total)
    absolute = None if rate_offer is None or rate_control is None else rate_offer - rate_control
    interval = difference_newcombe(
        offer_conversions, offer_total, control_conversions, control_total, z=z
    )
    ratio = ratio_katz(offer_conversions, offer_total, control_conversions, control_total, z=z)
    relative = None
    if rate_offer is not None and rate_control:
        relative = rate_offer / rate_control - 1
    verdict: Verdict
    if control_total == 0:
        verdict = "no_control"
    elif offer_total < minimum_group_size or control_total < minimum_group_size:
        verdict = "insufficient_data"
    elif interval is not None and interval.low > 0:
        verdict = "better"
    elif interval is not None and interval.high < 0:
        verdict = "worse"
    else:
        verdict = "not_significant"
    return Lift(
        offer_conversions=offer_conversions,
        offer_total=offer_total,
        control_conversions=control_conversions,
        control_total=control_total,
        rate_offer=rate_offer,
        rate_control=rate_control,
        absolute=absolute,
        interval=interval,
        interval_wald=difference_wald(
            offer_conversions, offer_total, control_conversions, control_total, z=z
        ),
        relative=relative,
        relative_interval=Interval(ratio.low - 1, ratio.high - 1) if ratio else None,
        p_value=two_proportion_p_value(
            offer_conversions, offer_total, control_conversions, control_total
        ),
        verdict=verdict,
    )


def roi(*, revenue: float, cost: float) -> float | None:
    """Return on investment, ``(revenue - cost) / cost``; None when nothing was spent."""
    if cost <= 0:
        return None
    return (revenue - cost) / cost


def incremental_revenue(
    *, revenue_offer: float, offer_total: int, revenue_control: float, control_total: int
) -> float | None:
    """Revenue the offer caused: the offered customers' revenue minus what they would have
    brought at the control group's revenue per customer."""
    if offer_total <= 0 or control_total <= 0:
        return None
    return revenue_offer - offer_total * (revenue_control / control_total)


@dataclass(frozen=True, slots=True)
class RateDrop:
    """A rate that fell: the recent window against the baseline window."""

    recent_rate: float
    baseline_rate: float
    relative_drop: float  # 0.4 = 40 % lower than the baseline
    p_value: float


def rate_drop(
    *,
    recent_successes: int,
    recent_trials: int,
    baseline_successes: int,
    baseline_trials: int,
    minimum_trials: int = 50,
    minimum_relative_drop: float = 0.3,
    maximum_p_value: float = 0.01,
) -> RateDrop | None:
    """A sudden fall of a rate, or None.

    Both windows need ``minimum_trials``; the recent rate must be at least
    ``minimum_relative_drop`` below the baseline and the difference significant at
    ``maximum_p_value`` (one-sided pooled z-test), so small wobbles of small campaigns stay quiet.
    """
    if recent_trials < minimum_trials or baseline_trials < minimum_trials:
        return None
    recent = recent_successes / recent_trials
    baseline = baseline_successes / baseline_trials
    if baseline <= 0 or recent >= baseline:
        return None
    drop = 1 - recent / baseline
    if drop < minimum_relative_drop:
        return None
    two_sided = two_proportion_p_value(
        recent_successes, recent_trials, baseline_successes, baseline_trials
    )
    one_sided = (two_sided if two_sided is not None else 1.0) / 2
    if one_sided > maximum_p_value:
        return None
    return RateDrop(
        recent_rate=recent, baseline_rate=baseline, relative_drop=drop, p_value=one_sided
    )
