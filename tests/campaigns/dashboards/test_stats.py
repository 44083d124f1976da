"""The dashboard statistics against values worked out by hand and published reference values."""

from __future__ import annotations

import math

import pytest

from campaigns.dashboards import stats

# Newcombe (1998), Table II: the eight examples and the limits of method 10 (hybrid score) and
# method 1 (Wald, where it is defined), to four decimals as printed in the paper.
NEWCOMBE_TABLE_II = [
    # x1, n1, x2, n2, method 10 low, high
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "low", "high"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_the_published_table(x1, n1, x2, n2, low, high):
    interval = stats.difference_newcombe(x1, n1, x2, n2)

    assert interval is not None
    assert round(interval.low, 4) == low
    assert round(interval.high, 4) == high


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        (56, 70, 48, 80, 0.0575, 0.3425),
        (9, 10, 3, 10, 0.2605, 0.9395),
        (6, 7, 2, 7, 0.1481, 0.9947),
    ],
)
def test_wald_interval_matches_the_published_table(x1, n1, x2, n2, low, high):
    interval = stats.difference_wald(x1, n1, x2, n2)

    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


def test_lift_of_a_campaign_matches_the_hand_computation():
    # given: 2,000 offered customers of whom 300 converted; 250 held out of whom 20 converted.
    # by hand: p1 = 0.15, p2 = 0.08, lift = 0.07
    #   Wald:   se = sqrt(.15*.85/2000 + .08*.92/250) = sqrt(0.00006375 + 0.0002944)
    #              = sqrt(0.00035815) = 0.0189248;  1.96 se = 0.0370922
    #           CI = 0.07 -/+ 0.0370922 = [0.0329078, 0.1070922]
    #   Wilson of 300/2000: centre = (.15 + 3.84146/4000) / (1 + 3.84146/2000) = 0.1506710
    #           half = 1.96 sqrt(.1275/2000 + 3.84146/16e6) / 1.0019207 = 0.0156484
    #           -> [0.1350225, 0.1663194]
    #   Wilson of 20/250:  centre = (.08 + 3.84146/500) / (1 + 3.84146/250) = 0.0863560
    #           half = 1.96 sqrt(.0736/250 + 3.84146/250000) / 1.0153658 = 0.0339737
    #           -> [0.0523823, 0.1203296]
    #   Newcombe: low  = .07 - sqrt(0.0149775^2 + 0.0403296^2) = .07 - 0.0430210 = 0.0269790
    #             high = .07 + sqrt(0.0163194^2 + 0.0276177^2) = .07 + 0.0320790 = 0.1020790
    #   relative: .15/.08 - 1 = 0.875; Katz se = sqrt(1/300 - 1/2000 + 1/20 - 1/250) = 0.2209827
    #           ratio CI = 1.875 exp(-/+ 1.96 * 0.2209827) = [1.2159, 2.8913]
    #           relative lift CI = [0.2159, 1.8913]
    # when
    result = stats.lift(
        offer_conversions=300, offer_total=2000, control_conversions=20, control_total=250
    )

    # then
    assert result.rate_offer == pytest.approx(0.15)
    assert result.rate_control == pytest.approx(0.08)
    assert result.absolute == pytest.approx(0.07)
    assert result.interval_wald.low == pytest.approx(0.0329078, abs=1e-6)
    assert result.interval_wald.high == pytest.approx(0.1070922, abs=1e-6)
    assert result.interval.low == pytest.approx(0.0269790, abs=2e-6)
    assert result.interval.high == pytest.approx(0.1020790, abs=2e-6)
    assert result.relative == pytest.approx(0.875)
    assert result.relative_interval.low == pytest.approx(0.2159, abs=1e-4)
    assert result.relative_interval.high == pytest.approx(1.8913, abs=1e-4)
    assert result.verdict == "better"
    assert result.is_significant is True
    assert result.p_value < 0.01


@pytest.mark.parametrize(
    ("offer", "control", "verdict"),
    [
        ((300, 2000), (20, 250), "better"),
        ((100, 2000), (30, 250), "worse"),
        ((160, 2000), (21, 250), "not_significant"),
        ((5, 20), (1, 20), "insufficient_data"),
        ((300, 2000), (0, 0), "no_control"),
    ],
)
def test_lift_verdict(offer, control, verdict):
    result = stats.lift(
        offer_conversions=offer[0],
        offer_total=offer[1],
        control_conversions=control[0],
        control_total=control[1],
    )

    assert result.verdict == verdict


def test_lift_without_control_has_no_rate_nor_interval():
    result = stats.lift(offer_conversions=3, offer_total=10, control_conversions=0, control_total=0)

    assert result.rate_control is None
    assert result.absolute is None
    assert result.interval is None
    assert result.relative is None


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("offer_total", {"offer_total": -1}),
        ("offer_conversions", {"offer_conversions": 11, "offer_total": 10}),
        ("control_conversions", {"control_conversions": 5, "control_total": 4}),
    ],
)
def test_lift_rejects_impossible_counts_naming_the_field(field, kwargs):
    arguments = {
        "offer_conversions": 1,
        "offer_total": 10,
        "control_conversions": 1,
        "control_total": 10,
    }
    arguments.update(kwargs)

    with pytest.raises(ValueError, match=field):
        stats.lift(**arguments)


def test_wilson_interval_of_a_known_proportion():
    # 81/263 (Wilson 1927 style example): p = .30798; the score interval by hand is
    # centre = (p + z^2/2n)/(1 + z^2/n), half = z sqrt(p(1-p)/n + z^2/4n^2)/(1 + z^2/n)
    interval = stats.wilson_interval(81, 263)
    z2 = stats.Z_95**2
    p = 81 / 263
    centre = (p + z2 / 526) / (1 + z2 / 263)
    half = stats.Z_95 * math.sqrt(p * (1 - p) / 263 + z2 / (4 * 263**2)) / (1 + z2 / 263)

    assert interval.low == pytest.approx(centre - half)
    assert interval.high == pytest.approx(centre + half)
    assert round(interval.low, 4) == 0.2553
    assert round(interval.high, 4) == 0.3662


@pytest.mark.parametrize(
    ("revenue", "cost", "expected"),
    [(1500.0, 500.0, 2.0), (500.0, 500.0, 0.0), (100.0, 400.0, -0.75), (100.0, 0.0, None)],
)
def test_roi(revenue, cost, expected):
    assert stats.roi(revenue=revenue, cost=cost) == expected


def test_incremental_revenue_subtracts_what_control_customers_bring():
    # 1,000 offered brought 50,000; 200 held out brought 4,000 = 20 each; 1,000 x 20 = 20,000
    value = stats.incremental_revenue(
        revenue_offer=50_000, offer_total=1000, revenue_control=4_000, control_total=200
    )

    assert value == pytest.approx(30_000)


def test_rate_drop_names_a_significant_fall():
    # delivery rate 97 % over the trailing day, 40 % in the last hour
    drop = stats.rate_drop(
        recent_successes=40, recent_trials=100, baseline_successes=970, baseline_trials=1000
    )

    assert drop is not None
    assert drop.recent_rate == pytest.approx(0.4)
    assert drop.baseline_rate == pytest.approx(0.97)
    assert drop.relative_drop == pytest.approx(1 - 0.4 / 0.97)


@pytest.mark.parametrize(
    ("recent", "baseline"),
    [
        ((9, 10), (970, 1000)),  # recent window too small
        ((85, 100), (970, 1000)),  # fell, but by less than 30 %
        ((99, 100), (970, 1000)),  # rose
        ((2, 60), (12, 200)),  # 3.3 % against 6 %: 44 % lower, but not significant
    ],
)
def test_rate_drop_stays_quiet(recent, baseline):
    drop = stats.rate_drop(
        recent_successes=recent[0],
        recent_trials=recent[1],
        baseline_successes=baseline[0],
        baseline_trials=baseline[1],
    )

    assert drop is None
