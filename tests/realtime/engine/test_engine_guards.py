"""Each guard type: holdout, cap, quiet hours, budget, arbitration, offer limit, variants."""

from __future__ import annotations

import datetime as dt

import pytest

from realtime.engine import (
    InMemoryBudget,
    InMemoryDriver,
    InMemoryProfiles,
    OfferLimit,
    PlanSettings,
    RuleSource,
    build_plan,
)
from realtime.engine.guards import is_held_out, pick_variant
from realtime.engine.testing import DAY, HOUR, MINUTE, T0, EventFactory, rule


def test_holdout_is_deterministic_per_customer_and_campaign_and_near_its_share() -> None:
    customers = [f"c{n}" for n in range(20_000)]
    held = [c for c in customers if is_held_out(0.1, 7, c)]
    assert held == [c for c in customers if is_held_out(0.1, 7, c)]
    assert 0.09 < len(held) / len(customers) < 0.11
    # another campaign draws another control group
    assert held != [c for c in customers if is_held_out(0.1, 8, c)]


def test_held_out_customer_gets_a_held_out_decision_and_no_actions_run() -> None:
    customer = next(f"c{n}" for n in range(1000) if is_held_out(0.5, 1, f"c{n}"))
    spec = rule("v", guards={"holdout": 0.5}, actions=[{"set_profile": {"x": 1}}])
    driver = InMemoryDriver(build_plan([RuleSource(1, 1, spec)]))
    result = driver.run([EventFactory()("v", customer)])
    [decision] = result.decisions
    assert decision.outcome == "held_out"
    assert result.profile_updates == ()


@pytest.mark.parametrize(
    ("cap", "gaps", "outcomes"),
    [
        ({"max": 1, "per": "1h"}, [0, 30 * MINUTE, 61 * MINUTE], ["offer", "suppressed", "offer"]),
        ({"max": 2, "per": "1d"}, [0, HOUR, 2 * HOUR], ["offer", "offer", "suppressed"]),
        ({"max": 1, "per": "ever"}, [0, 100 * DAY], ["offer", "suppressed"]),
    ],
)
def test_frequency_cap_per_customer(
    cap: dict[str, object], gaps: list[float], outcomes: list[str]
) -> None:
    spec = rule("v", guards={"cap": cap})
    driver = InMemoryDriver(
        build_plan([RuleSource(1, 1, spec)], settings=PlanSettings(daily_offer_cap=0))
    )
    event = EventFactory()
    result = driver.run([event("v", "c1", at=gap) for gap in gaps])
    assert [d.outcome for d in result.decisions] == outcomes
    assert {d.suppression_reason for d in result.decisions if d.outcome == "suppressed"} <= {"cap"}


@pytest.mark.parametrize(
    ("utc_hour", "timezone", "then", "outcome", "sent_at_utc_hour"),
    [
        (13, "Asia/Seoul", "defer", "offer", 23),  # 22:00 Seoul -> 08:00 Seoul
        (13, "Asia/Seoul", "drop", "suppressed", 13),
        (13, "Europe/London", "defer", "offer", 13),  # 13:00 in London: not quiet
        (3, "Asia/Seoul", "defer", "offer", 3),  # 12:00 Seoul
        (22, "Asia/Seoul", "defer", "offer", 23),  # 07:00 Seoul -> 08:00 Seoul
    ],
)
def test_quiet_hours_in_the_customers_time_zone(
    utc_hour: int, timezone: str, then: str, outcome: str, sent_at_utc_hour: int
) -> None:
    spec = rule("v", guards={"quiet_hours": {"from": "21:00", "to": "08:00", "then": then}})
    profiles = InMemoryProfiles({"c1": {"timezone": timezone}})
    driver = InMemoryDriver(build_plan([RuleSource(1, 1, spec)]), profiles=profiles)
    start = dt.datetime(2025, 12, 8, utc_hour, tzinfo=dt.UTC).timestamp()
    result = driver.run([EventFactory(start=start)("v", "c1")], until=start + DAY)
    [decision] = result.decisions
    assert decision.outcome == outcome
    assert dt.datetime.fromtimestamp(decision.occurred_at, dt.UTC).hour == sent_at_utc_hour
    if outcome == "suppressed":
        assert decision.suppression_reason == "quiet_hours"


def test_budget_caps_issuance_across_customers() -> None:
    spec = rule("v", guards={"budget": {"max_offers": 2}})
    budget = InMemoryBudget()
    driver = InMemoryDriver(build_plan([RuleSource(5, 1, spec)]), budget=budget)
    event = EventFactory()
    result = driver.run([event("v", f"c{n}", at=n) for n in range(4)])
    assert [(d.customer_id, d.outcome, d.suppression_reason) for d in result.decisions] == [
        ("c0", "offer", None),
        ("c1", "offer", None),
        ("c2", "suppressed", "budget"),
        ("c3", "suppressed", "budget"),
    ]
    assert budget.spent == {5: 2}


def test_priority_wins_arbitration_against_the_daily_cap() -> None:
    # given: three campaigns fire on the same event, the platform allows 2 offers a day
    plan = build_plan(
        [
            RuleSource(1, 1, rule("v", guards={"priority": 10})),
            RuleSource(2, 1, rule("v", guards={"priority": 90})),
            RuleSource(3, 1, rule("v", guards={"priority": 50})),
        ],
        settings=PlanSettings(daily_offer_cap=2),
    )
    driver = InMemoryDriver(plan)
    event = EventFactory()
    # when
    first = driver.run([event("v", "c1", at=0)])
    later = driver.run([event("v", "c1", at=HOUR)])
    # then
    assert [(d.campaign_id, d.outcome, d.suppression_reason) for d in first.decisions] == [
        (2, "offer", None),
        (3, "offer", None),
        (1, "suppressed", "arbitration"),
    ]
    assert {d.suppression_reason for d in later.decisions} == {"arbitration"}


def test_offer_limit_is_shared_by_every_campaign_sending_the_offer() -> None:
    plan = build_plan(
        [
            RuleSource(1, 1, rule("v", actions=[{"offer": "gift", "channel": "push"}])),
            RuleSource(2, 1, rule("w", actions=[{"offer": "gift", "channel": "sms"}])),
        ],
        offers={"gift": OfferLimit(max=1, per=30 * DAY)},
    )
    driver = InMemoryDriver(plan)
    event = EventFactory()
    result = driver.run(
        [event("v", "c1", at=0), event("w", "c1", at=DAY), event("w", "c1", at=31 * DAY)]
    )
    assert [(d.campaign_id, d.outcome, d.suppression_reason) for d in result.decisions] == [
        (1, "offer", None),
        (2, "suppressed", "offer_limit"),
        (2, "offer", None),
    ]


def test_variants_split_customers_deterministically_by_share() -> None:
    spec = rule(
        "v",
        variants=[
            {"name": "A", "share": 0.25, "actions": [{"offer": "a", "channel": "push"}]},
            {"name": "B", "share": 0.75, "actions": [{"offer": "b", "channel": "push"}]},
        ],
    )
    plan = build_plan([RuleSource(1, 1, spec)], settings=PlanSettings(daily_offer_cap=0))
    driver = InMemoryDriver(plan)
    event = EventFactory()
    result = driver.run([event("v", f"c{n}", at=n) for n in range(4000)])
    names = [d.variant for d in result.decisions]
    assert 0.22 < names.count("A") / len(names) < 0.28
    variants = plan.rules[0].rule.variants
    assert all(d.variant == pick_variant(variants, 1, d.customer_id).name for d in result.decisions)
    assert all(d.actions[0].offer == d.variant.lower() for d in result.decisions)  # type: ignore[union-attr]


def test_decision_ids_are_deterministic_across_runs() -> None:
    spec = rule("v", unless={"event": "w", "within": "1m"})
    logs = []
    for _ in range(2):
        driver = InMemoryDriver(build_plan([RuleSource(1, 3, spec)]))
        logs.append(driver.run([EventFactory()("v", "c1")], until=T0 + HOUR).decisions)
    assert [d.decision_id for d in logs[0]] == [d.decision_id for d in logs[1]]
    assert logs[0][0].timer_id == "wait:1:e1"
