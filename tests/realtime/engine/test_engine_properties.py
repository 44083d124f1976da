"""Properties: snapshot + restore mid-log == straight run; customers commute; backends agree."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.engine import (
    PROFILE_UPDATED,
    BatchResult,
    Engine,
    Event,
    InMemoryDriver,
    InMemoryProfiles,
    OfferLimit,
    Plan,
    RuleSource,
    build_plan,
)
from realtime.engine.testing import DAY, MINUTE, T0, rule

SAVINGS = {"attr": "category", "op": "=", "value": "savings"}
RULES = [
    rule(
        {"event": "view", "where": SAVINGS},
        conditions={
            "all": [
                {
                    "count": {"event": "view", "where": SAVINGS, "within": "1h"},
                    "op": ">=",
                    "value": 2,
                },
                {"profile": "age", "op": "<", "value": 50},
            ]
        },
        unless={"event": "subscribe", "within": "5m"},
        guards={
            "holdout": 0.3,
            "cap": {"max": 1, "per": "1h"},
            "quiet_hours": {"from": "22:00", "to": "07:00"},
        },
        goal={"event": "subscribe", "within": "1d", "revenue": "amount"},
    ),
    rule(
        "screen",
        conditions={
            "count": {"event": "screen", "within": "5m", "same": ["name"]},
            "op": ">=",
            "value": 3,
        },
        actions=[{"notify_staff": {"team": "cc", "message": "{name}"}}],
        guards={"cap": {"max": 1, "per": "10m"}},
    ),
    rule(
        "visit",
        delay="20m",
        conditions={"not": {"count": {"event": "survey", "within": "1d"}, "op": ">=", "value": 1}},
        actions=[{"offer": "survey", "channel": "sms"}],
    ),
    rule(
        {"event": "view", "where": SAVINGS},
        conditions={
            "sequence": [{"event": "salary"}, {"event": "view", "where": SAVINGS}],
            "within": "2h",
        },
        actions=[{"set_profile": {"interest": "savings"}}, {"emit": {"event": "interest"}}],
    ),
    rule("interest", actions=[{"offer": "savings", "channel": "push"}], guards={"priority": 9}),
    rule(
        "salary",
        conditions={"profile": "interest", "op": "=", "value": "savings"},
        actions=[{"offer": "savings", "channel": "push"}],
    ),
    rule({"date": "expiry", "offset": "-1d"}, actions=[{"offer": "reminder", "channel": "push"}]),
    rule(
        "view",
        conditions={
            "sum": {"event": "pay", "attr": "amount", "within": "2h"},
            "op": ">",
            "value": 100,
        },
        variants=[
            {"name": "A", "share": 0.5, "actions": [{"offer": "a", "channel": "push"}]},
            {"name": "B", "share": 0.5, "actions": [{"offer": "b", "channel": "push"}]},
        ],
    ),
]
OFFERS = {"savings": OfferLimit(max=1, per=DAY)}


def _plan(backend: str = "codegen") -> Plan:
    return build_plan(
        [RuleSource(n + 1, 1, spec) for n, spec in enumerate(RULES)], offers=OFFERS, backend=backend
    )  # type: ignore[arg-type]


CUSTOMERS = ["c0", "c1", "c2"]
steps = st.tuples(
    st.sampled_from(CUSTOMERS),
    st.sampled_from(
        ["view", "view", "subscribe", "screen", "visit", "survey", "salary", "pay", PROFILE_UPDATED]
    ),
    st.sampled_from(["savings", "card", "a", "b"]),
    st.integers(0, 30 * MINUTE),
)


def _log(raw: list[tuple[str, str, str, int]]) -> list[Event]:
    events = []
    ts = T0
    for index, (customer, kind, value, gap) in enumerate(raw):
        ts += gap
        attributes: dict[str, object] = {
            "category": value,
            "name": value,
            "amount": len(value) * 40,
        }
        if kind == PROFILE_UPDATED:
            attributes = {"expiry": "2025-12-" + ("09", "10", "11")[index % 3]}
        events.append(Event(f"e{index}", kind, customer, ts, attributes))
    return events


def _profiles() -> InMemoryProfiles:
    return InMemoryProfiles({"c0": {"age": 30}, "c1": {"age": 70}, "c2": {"age": 20}})


def _signature(result: BatchResult) -> list[tuple[object, ...]]:
    return [
        (d.decision_id, d.outcome, d.suppression_reason, d.variant, d.occurred_at, d.actions)
        for d in result.decisions
    ] + [(c.decision_id, c.event_id, c.revenue) for c in result.conversions]


@settings(max_examples=60, deadline=None)
@given(st.lists(steps, min_size=1, max_size=40), st.data())
def test_snapshot_and_restore_mid_log_gives_the_same_decisions(
    raw: list, data: st.DataObject
) -> None:
    log = _log(raw)
    end = log[-1].ts + 3 * DAY
    split = data.draw(st.integers(0, len(log)))
    # straight through
    straight = InMemoryDriver(_plan(), profiles=_profiles())
    straight.run(log, until=end)
    # first part, checkpoint every customer, restore into a new engine, the rest
    first = InMemoryDriver(_plan(), profiles=_profiles())
    first.run(log[:split])
    blobs = {customer: first.engine.snapshot_bytes(customer) for customer in CUSTOMERS}
    second = InMemoryDriver(_plan(), profiles=copy.deepcopy(first.profiles), budget=first.budget)
    second.now = first.now
    for customer, blob in blobs.items():
        second.engine.restore(customer, blob)
    second.run(log[split:], until=end)
    assert _signature(first.result) + _signature(second.result) == _signature(straight.result)


def _by_customer(result: BatchResult) -> dict[str, list[tuple[object, ...]]]:
    grouped: dict[str, list[tuple[object, ...]]] = {}
    for d in result.decisions:
        grouped.setdefault(d.customer_id, []).append(
            (d.decision_id, d.outcome, d.suppression_reason, d.occurred_at)
        )
    for c in result.conversions:
        grouped.setdefault(c.customer_id, []).append((c.decision_id, c.event_id))
    return grouped


@settings(max_examples=60, deadline=None)
@given(st.lists(steps, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_events_of_different_customers_commute(raw: list, random: object) -> None:
    log = _log(raw)
    # another interleaving that keeps each customer's own order
    queues = {c: [e for e in log if e.customer_id == c] for c in CUSTOMERS}
    shuffled: list[Event] = []
    while any(queues.values()):
        customer = random.choice([c for c, q in queues.items() if q])  # type: ignore[attr-defined]
        shuffled.append(queues[customer].pop(0))
    results = []
    for order in (log, shuffled):
        engine = Engine(_plan(), profiles=_profiles())
        result = engine.process(order, now=log[-1].ts + 3 * DAY)
        results.append(_by_customer(result))
    assert results[0] == results[1]


@settings(max_examples=40, deadline=None)
@given(st.lists(steps, min_size=1, max_size=40))
def test_generated_code_and_closures_make_the_same_decisions(raw: list) -> None:
    log = _log(raw)
    signatures = []
    for backend in ("codegen", "closures"):
        driver = InMemoryDriver(_plan(backend), profiles=_profiles())
        driver.run(log, until=log[-1].ts + 3 * DAY)
        signatures.append(_signature(driver.result))
    assert signatures[0] == signatures[1]


def test_the_property_plan_makes_decisions_at_all() -> None:
    # guards against a vacuous property: the mix above really decides things
    raw = [
        ("c0", "salary", "a", 0),
        ("c0", "view", "savings", 60),
        ("c0", "view", "savings", 60),
        ("c0", "screen", "a", 1),
        ("c0", "screen", "a", 1),
        ("c0", "screen", "a", 1),
        ("c2", "visit", "a", 1),
        ("c2", PROFILE_UPDATED, "a", 1),
        ("c0", "pay", "savings", 1),
        ("c0", "view", "card", 1),
        ("c0", "subscribe", "a", 600),
    ]
    driver = InMemoryDriver(_plan(), profiles=_profiles())
    result = driver.run(_log(raw), until=T0 + 3 * DAY)
    assert {d.campaign_id for d in result.decisions} == {1, 2, 3, 4, 5, 7, 8}
    assert result.conversions


def test_prune_forgets_what_no_rule_can_see_and_keeps_the_rest() -> None:
    # given: a customer with windows, cap history and a goal from a day of traffic
    raw = [
        ("c0", "view", "savings", 60),
        ("c0", "view", "savings", 60),
        ("c0", "screen", "a", 1),
        ("c0", "subscribe", "a", 1000),
    ]
    driver = InMemoryDriver(_plan(), profiles=_profiles())
    driver.run(_log(raw), until=T0 + DAY)
    before = driver.engine.snapshot("c0")
    # when: pruned soon after, nothing a rule can still see goes
    driver.engine.prune("c0", now=T0 + 2 * MINUTE * 60)
    assert driver.engine.snapshot("c0") is not None
    # then: long after, everything is gone
    driver.engine.prune("c0", now=T0 + 40 * DAY)
    assert before is not None
    assert driver.engine.snapshot("c0") is None
    assert "c0" not in driver.engine.states
