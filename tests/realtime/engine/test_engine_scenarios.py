"""Scenarios 1, 2, 3, 6, 7 and 8 of SCENARIOS.md through the in-memory driver."""

from __future__ import annotations

import datetime as dt

import pytest

from realtime.engine import (
    PROFILE_UPDATED,
    InMemoryDriver,
    InMemoryProfiles,
    NotifyStaffAction,
    OfferAction,
    OfferLimit,
    RuleSource,
    SetProfileAction,
    build_plan,
)
from realtime.engine.guards import is_held_out
from realtime.engine.testing import DAY, HOUR, MINUTE, T0, EventFactory, rule

SAVINGS = ["savings", "installment_savings", "deposit", "housing_subscription"]
SAVINGS_VIEW = {"attr": "category", "op": "in", "value": SAVINGS}

SCENARIO_1 = rule(
    {"event": "product_view", "where": SAVINGS_VIEW},
    name="Savings sign-up nudge",
    conditions={
        "all": [
            {
                "count": {"event": "product_view", "where": SAVINGS_VIEW, "within": "1d"},
                "op": ">=",
                "value": 3,
            },
            {"profile": "age", "op": "between", "value": [19, 55]},
        ]
    },
    unless={"event": "product_subscribed", "within": "7m"},
    actions=[{"offer": "savings-signup-coupon", "channel": "push", "fallback": "sms"}],
    guards={
        "holdout": 0.1,
        "cap": {"max": 1, "per": "30d"},
        "quiet_hours": {"from": "21:00", "to": "08:00", "then": "defer"},
        "budget": {"max_offers": 10000},
        "priority": 50,
    },
    goal={"event": "product_subscribed", "within": "7d"},
)


def _offered_customer(campaign_id: int, share: float, prefix: str = "cust") -> str:
    """The first customer id not in the campaign's control group (holdout is deterministic)."""
    return next(
        f"{prefix}{n}" for n in range(100) if not is_held_out(share, campaign_id, f"{prefix}{n}")
    )


def _scenario_1_driver(age: int = 30) -> tuple[InMemoryDriver, str]:
    customer = _offered_customer(1, 0.1)
    profiles = InMemoryProfiles({customer: {"age": age, "timezone": "Asia/Seoul"}})
    return InMemoryDriver(build_plan([RuleSource(1, 1, SCENARIO_1)]), profiles=profiles), customer


def test_scenario_1_three_views_and_no_sign_up_sends_one_coupon_by_push_with_sms_fallback() -> None:
    # given
    driver, customer = _scenario_1_driver()
    event = EventFactory()
    views = [
        event("product_view", customer, at=minute * MINUTE, category="savings")
        for minute in (0, 30, 60)
    ]
    # when
    result = driver.run(views, until=T0 + 2 * HOUR)
    # then: the coupon goes out 7 minutes after the third view
    [decision] = result.decisions
    assert decision.outcome == "offer"
    assert decision.customer_id == customer
    assert decision.trigger_event_id == views[2].event_id
    assert decision.occurred_at == views[2].ts + 7 * MINUTE
    assert decision.actions == (OfferAction("savings-signup-coupon", "push", "sms"),)
    assert all(item.held for item in decision.explanation)


@pytest.mark.parametrize(
    ("age", "extra", "views"),
    [
        pytest.param(60, None, 3, id="aged-60"),
        pytest.param(30, ("product_subscribed", 65), 3, id="subscribed-within-7-minutes"),
        pytest.param(30, None, 2, id="only-2-views"),
        pytest.param(30, ("product_view", 60), 2, id="third-view-not-savings"),
    ],
)
def test_scenario_1_negative_cases_get_nothing(
    age: int, extra: tuple[str, int] | None, views: int
) -> None:
    # given
    driver, customer = _scenario_1_driver(age)
    event = EventFactory()
    log = [
        event("product_view", customer, at=minute * MINUTE, category="savings")
        for minute in (0, 30, 60)[:views]
    ]
    if extra == ("product_view", 60):
        log.append(event("product_view", customer, at=60 * MINUTE, category="credit_card"))
    elif extra is not None:
        log.append(event(extra[0], customer, at=extra[1] * MINUTE, product_id="s1"))
    # when
    result = driver.run(log, until=T0 + 2 * DAY)
    # then
    assert result.decisions == ()
    assert driver.engine.pending_timers(customer) == ()


def test_scenario_1_exactly_one_coupon_per_customer_per_30_days() -> None:
    # given: views on three days in a row, then again 31 days later
    driver, customer = _scenario_1_driver()
    event = EventFactory()
    log = [
        event("product_view", customer, at=day * DAY + minute * MINUTE, category="deposit")
        for day in (0, 1, 2, 31)
        for minute in (0, 5, 10, 15)
    ]
    # when
    result = driver.run(log, until=T0 + 40 * DAY)
    # then
    offers = [d for d in result.decisions if d.outcome == "offer"]
    assert [d.occurred_at for d in offers] == [
        T0 + 10 * MINUTE + 7 * MINUTE,
        T0 + 31 * DAY + 10 * MINUTE + 7 * MINUTE,
    ]
    suppressed = [d for d in result.decisions if d.outcome == "suppressed"]
    assert {d.suppression_reason for d in suppressed} == {"cap"}
    # days 1 and 2: the first view already sees 3 in the last day (one wait, joined by the
    # second view), the third view starts another wait after that one fired: 2 per day
    assert len(suppressed) == 4


def test_scenario_1_quiet_hours_defer_the_coupon_to_the_morning() -> None:
    # given: the third view at 22:00 in Seoul
    driver, customer = _scenario_1_driver()
    event = EventFactory(start=dt.datetime(2025, 12, 8, 13, 0, tzinfo=dt.UTC).timestamp())
    log = [event("product_view", customer, at=m * MINUTE, category="savings") for m in (0, 1, 2)]
    # when
    result = driver.run(log, until=log[-1].ts + DAY)
    # then: sent at 08:00 Seoul time the next morning
    [decision] = result.decisions
    assert decision.outcome == "offer"
    assert decision.occurred_at == dt.datetime(2025, 12, 8, 23, 0, tzinfo=dt.UTC).timestamp()
    assert "Quiet hours: deferred until they ended" in [i.text for i in decision.explanation]


def test_scenario_1_conversion_is_attributed_to_the_coupon() -> None:
    driver, customer = _scenario_1_driver()
    event = EventFactory()
    log = [event("product_view", customer, at=m * MINUTE, category="savings") for m in (0, 1, 2)]
    log.append(event("product_subscribed", customer, at=DAY, product_id="s1", amount=1000))
    result = driver.run(log, until=T0 + 2 * DAY)
    [decision] = result.decisions
    [conversion] = result.conversions
    assert conversion.decision_id == decision.decision_id
    assert conversion.event_id == log[-1].event_id
    assert conversion.outcome == "offer"


def test_scenario_1_held_out_customers_are_tracked_for_the_goal_too() -> None:
    customer = next(f"h{n}" for n in range(1000) if is_held_out(0.1, 1, f"h{n}"))
    profiles = InMemoryProfiles({customer: {"age": 30}})
    driver = InMemoryDriver(build_plan([RuleSource(1, 1, SCENARIO_1)]), profiles=profiles)
    event = EventFactory()
    log = [event("product_view", customer, at=m * MINUTE, category="savings") for m in (0, 1, 2)]
    log.append(event("product_subscribed", customer, at=HOUR))
    result = driver.run(log, until=T0 + DAY)
    [decision] = result.decisions
    assert decision.outcome == "held_out"
    [conversion] = result.conversions
    assert (conversion.decision_id, conversion.outcome) == (decision.decision_id, "held_out")


SCENARIO_2 = rule(
    "screen_view",
    name="Lost in the app",
    conditions={
        "count": {"event": "screen_view", "within": "5m", "same": ["screen"]},
        "op": ">=",
        "value": 4,
    },
    actions=[
        {
            "notify_staff": {
                "team": "call_centre",
                "message": "Customer {customer_id} is stuck on {screen}",
            }
        }
    ],
    guards={"cap": {"max": 1, "per": "1h"}},
)


def test_scenario_2_same_screen_four_times_in_five_minutes_creates_a_callback_task() -> None:
    # given: the transfer screen 4 times within 5 minutes, other screens in between
    driver = InMemoryDriver(build_plan([RuleSource(2, 1, SCENARIO_2)]))
    event = EventFactory()
    log = [
        event("screen_view", "c1", at=0, screen="transfer"),
        event("screen_view", "c1", at=30, screen="home"),
        event("screen_view", "c1", at=60, screen="transfer"),
        event("screen_view", "c1", at=90, screen="home"),
        event("screen_view", "c1", at=120, screen="transfer"),
        event("screen_view", "c1", at=150, screen="home"),  # only 3 'home'
        event("screen_view", "c1", at=200, screen="transfer"),  # 4th transfer: fires
        event("screen_view", "c1", at=230, screen="transfer"),  # capped
    ]
    # when
    result = driver.run(log)
    # then
    assert [(d.outcome, d.suppression_reason) for d in result.decisions] == [
        ("offer", None),
        ("suppressed", "cap"),
    ]
    assert result.decisions[0].trigger_event_id == log[6].event_id
    assert result.decisions[0].actions == (
        NotifyStaffAction("call_centre", "Customer c1 is stuck on transfer"),
    )


def test_scenario_2_four_views_spread_over_more_than_five_minutes_do_nothing() -> None:
    driver = InMemoryDriver(build_plan([RuleSource(2, 1, SCENARIO_2)]))
    event = EventFactory()
    log = [event("screen_view", "c1", at=s, screen="transfer") for s in (0, 100, 200, 301)]
    assert driver.run(log).decisions == ()


SCENARIO_3 = rule(
    "yield_inquiry",
    name="Maturity ahead",
    conditions={"profile": "deposit_maturity_date", "op": "within_next", "value": "30d"},
    actions=[
        {"notify_staff": {"team": "branch_callbacks", "message": "Deposit maturing: call back"}},
        {"offer": "redeposit-offer", "channel": "sms"},
    ],
)


@pytest.mark.parametrize(
    ("maturity", "fires"),
    [
        ("2025-12-20", True),
        ("2026-01-06", True),
        ("2026-02-20", False),
        ("2025-11-30", False),
        (None, False),
    ],
)
def test_scenario_3_maturity_within_30_days_and_a_yield_inquiry(
    maturity: str | None, fires: bool
) -> None:
    profile = {} if maturity is None else {"deposit_maturity_date": maturity}
    driver = InMemoryDriver(
        build_plan([RuleSource(3, 1, SCENARIO_3)]), profiles=InMemoryProfiles({"c1": profile})
    )
    result = driver.run([EventFactory()("yield_inquiry", "c1")])
    if fires:
        [decision] = result.decisions
        assert decision.actions == (
            NotifyStaffAction("branch_callbacks", "Deposit maturing: call back"),
            OfferAction("redeposit-offer", "sms"),
        )
    else:
        assert result.decisions == ()


SCENARIO_6 = rule(
    {"date": "gift_coupon_expiry", "offset": "-7d"},
    name="Coupon about to expire",
    actions=[{"offer": "coupon-expiry-reminder", "channel": "push"}],
)


def test_scenario_6_reminder_seven_days_before_expiry_once_per_date_value() -> None:
    # given
    driver = InMemoryDriver(build_plan([RuleSource(6, 1, SCENARIO_6)]))
    event = EventFactory()
    log = [
        event(PROFILE_UPDATED, "c1", at=0, gift_coupon_expiry="2025-12-30"),
        event(PROFILE_UPDATED, "c1", at=DAY, gift_coupon_expiry="2025-12-30"),  # same value
        event(PROFILE_UPDATED, "c1", at=20 * DAY, gift_coupon_expiry="2026-01-31"),  # new coupon
    ]
    # when
    result = driver.run(log, until=T0 + 60 * DAY)
    # then: 23 Dec and 24 Jan, midnight in Seoul
    seoul = dt.timezone(dt.timedelta(hours=9))
    assert [(d.outcome, d.occurred_at) for d in result.decisions] == [
        ("offer", dt.datetime(2025, 12, 23, tzinfo=seoul).timestamp()),
        ("offer", dt.datetime(2026, 1, 24, tzinfo=seoul).timestamp()),
    ]


def test_scenario_6_date_already_inside_the_reminder_window_fires_at_once() -> None:
    driver = InMemoryDriver(build_plan([RuleSource(6, 1, SCENARIO_6)]))
    log = [EventFactory()(PROFILE_UPDATED, "c1", at=0, gift_coupon_expiry="2025-12-10")]
    [decision] = driver.run(log, until=T0 + 30 * DAY).decisions
    assert decision.occurred_at == T0


SCENARIO_7 = rule(
    "branch_visit",
    name="After the branch visit",
    delay="30m",
    conditions={
        "not": {"count": {"event": "survey_answered", "within": "30d"}, "op": ">=", "value": 1}
    },
    actions=[{"offer": "satisfaction-survey", "channel": "sms"}],
)


@pytest.mark.parametrize(
    ("survey_at", "sent"),
    [
        (None, True),
        (-10 * DAY, False),
        (-40 * DAY, True),
        (10 * MINUTE, False),
        (31 * MINUTE, True),
    ],
)
def test_scenario_7_survey_30_minutes_after_the_visit_unless_answered_this_month(
    survey_at: float | None, sent: bool
) -> None:
    driver = InMemoryDriver(build_plan([RuleSource(7, 1, SCENARIO_7)]))
    event = EventFactory(start=T0 + 50 * DAY)
    log = [event("branch_visit", "c1", at=0, branch="gangnam")]
    if survey_at is not None:
        log.append(event("survey_answered", "c1", at=survey_at))
    result = driver.run(log, until=T0 + 51 * DAY)
    if sent:
        [decision] = result.decisions
        assert decision.occurred_at == T0 + 50 * DAY + 30 * MINUTE
        assert decision.trigger_event_id == log[0].event_id
    else:
        assert result.decisions == ()


RULE_A = rule(
    {"event": "product_view", "where": SAVINGS_VIEW},
    name="A: savings interest",
    conditions={
        "count": {"event": "product_view", "where": SAVINGS_VIEW, "within": "7d"},
        "op": ">=",
        "value": 3,
    },
    actions=[{"set_profile": {"interest": "savings"}}, {"emit": {"event": "savings_interest"}}],
    guards={"cap": {"max": 1, "per": "7d"}},
)
RULE_B = rule(
    "savings_interest",
    name="B: interest and salary",
    conditions={"count": {"event": "salary_deposit", "within": "30d"}, "op": ">=", "value": 1},
    actions=[{"offer": "savings-offer", "channel": "push"}],
)
RULE_C = rule(
    "salary_deposit",
    name="C: salary and interest",
    conditions={"profile": "interest", "op": "=", "value": "savings"},
    actions=[{"offer": "savings-offer", "channel": "push"}],
)


def _scenario_8() -> InMemoryDriver:
    plan = build_plan(
        [RuleSource(10, 1, RULE_A), RuleSource(11, 1, RULE_B), RuleSource(12, 1, RULE_C)],
        offers={"savings-offer": OfferLimit(max=1, per=30 * DAY)},
    )
    return InMemoryDriver(plan)


def test_scenario_8_third_view_fires_a_and_b_in_the_same_pass() -> None:
    # given: salary first
    driver = _scenario_8()
    event = EventFactory()
    driver.run(
        [event("salary_deposit", "c1", at=0, amount=3_000_000)]
        + [event("product_view", "c1", at=h * HOUR, category="savings") for h in (1, 2)]
    )
    third = event("product_view", "c1", at=3 * HOUR, category="savings")
    # when: one call with one event
    result = driver.engine.process([third], now=third.ts)
    # then
    a, b = result.decisions
    assert (a.campaign_id, a.trigger_event_id, a.outcome) == (10, third.event_id, "offer")
    [emitted] = result.emitted_events
    assert (b.campaign_id, b.trigger_event_id, b.outcome) == (11, emitted.event_id, "offer")
    assert b.actions == (OfferAction("savings-offer", "push"),)
    assert a.actions == (SetProfileAction({"interest": "savings"}), *a.actions[1:])
    [update] = result.profile_updates
    assert (update.customer_id, dict(update.facts)) == ("c1", {"interest": "savings"})


def test_scenario_8_rule_c_covers_the_other_order() -> None:
    driver = _scenario_8()
    event = EventFactory()
    log = [event("product_view", "c1", at=h * HOUR, category="deposit") for h in (1, 2, 3)]
    log.append(event("salary_deposit", "c1", at=DAY, amount=3_000_000))
    result = driver.run(log)
    offers = [d for d in result.decisions if d.outcome == "offer" and d.campaign_id != 10]
    assert [(d.campaign_id, d.trigger_event_id) for d in offers] == [(12, log[-1].event_id)]


def test_scenario_8_the_offer_goes_out_once() -> None:
    driver = _scenario_8()
    event = EventFactory()
    log = [event("salary_deposit", "c1", at=0)]
    log += [event("product_view", "c1", at=h * HOUR, category="savings") for h in (1, 2, 3)]
    log.append(event("salary_deposit", "c1", at=DAY))  # C also holds now
    result = driver.run(log)
    sent = [
        d
        for d in result.decisions
        if d.outcome == "offer" and any(isinstance(a, OfferAction) for a in d.actions)
    ]
    assert [d.campaign_id for d in sent] == [11]
    [blocked] = [d for d in result.decisions if d.campaign_id == 12]
    assert (blocked.outcome, blocked.suppression_reason) == ("suppressed", "offer_limit")
