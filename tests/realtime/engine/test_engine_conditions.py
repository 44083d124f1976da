"""Each condition type, table-driven, through the engine (no database, no Redis)."""

from __future__ import annotations

import pytest

from realtime.engine import (
    Event,
    InMemoryDriver,
    InMemoryProfiles,
    InMemoryScores,
    InMemorySegments,
    RuleSource,
    build_plan,
)
from realtime.engine.testing import DAY, MINUTE, EventFactory, rule


def _fires(
    spec: dict[str, object],
    log: list[Event],
    *,
    profile: dict[str, object] | None = None,
    backend: str = "codegen",
    **readers: object,
) -> bool:
    """Whether the last event of ``log`` fired the rule."""
    plan = build_plan([RuleSource(1, 1, spec)], backend=backend)  # type: ignore[arg-type]
    driver = InMemoryDriver(plan, profiles=InMemoryProfiles({"c1": profile or {}}), **readers)  # type: ignore[arg-type]
    decisions = driver.run(log).decisions
    return any(d.trigger_event_id == log[-1].event_id for d in decisions)


def _views(*spec: tuple[float, dict[str, object]], type: str = "v") -> list[Event]:
    event = EventFactory()
    return [event(type, "c1", at=at, **attributes) for at, attributes in spec]


TRIGGER_CASES = [
    ({"attr": "amount", "op": ">", "value": 100}, {"amount": 150}, True),
    ({"attr": "amount", "op": ">", "value": 100}, {"amount": 50}, False),
    ({"attr": "amount", "op": ">", "value": 100}, {}, False),  # missing: not met, no error
    ({"attr": "amount", "op": ">", "value": 100}, {"amount": "150"}, False),  # wrong type
    ({"attr": "region", "op": "=", "value": "Gangnam-gu"}, {"region": "Gangnam-gu"}, True),
    (
        {"attr": "region", "op": "in", "value": ["Gangnam-gu", "Seocho-gu"]},
        {"region": "Seocho-gu"},
        True,
    ),
    ({"attr": "region", "op": "in", "value": ["Gangnam-gu"]}, {"region": ["Gangnam-gu"]}, False),
    (
        {"all": [{"attr": "a", "op": "=", "value": 1}, {"attr": "b", "op": "=", "value": 2}]},
        {"a": 1, "b": 2},
        True,
    ),
    (
        {"all": [{"attr": "a", "op": "=", "value": 1}, {"attr": "b", "op": "=", "value": 2}]},
        {"a": 1, "b": 3},
        False,
    ),
    (
        {"any": [{"attr": "a", "op": "=", "value": 1}, {"attr": "b", "op": "=", "value": 2}]},
        {"a": 0, "b": 2},
        True,
    ),
    ({"not": {"attr": "channel", "op": "=", "value": "branch"}}, {"channel": "app"}, True),
    ({"not": {"attr": "channel", "op": "=", "value": "branch"}}, {"channel": "branch"}, False),
]


@pytest.mark.parametrize("backend", ["codegen", "closures"])
@pytest.mark.parametrize(("where", "attributes", "expected"), TRIGGER_CASES)
def test_trigger_filter(
    where: dict[str, object], attributes: dict[str, object], expected: bool, backend: str
) -> None:
    spec = rule({"event": "v", "where": where})
    assert _fires(spec, _views((0, attributes)), backend=backend) is expected


COUNT = {"count": {"event": "v", "within": "5m"}, "op": ">=", "value": 3}
COUNT_SAME = {"count": {"event": "v", "within": "5m", "same": ["screen"]}, "op": ">=", "value": 3}
COUNT_WHERE = {
    "count": {
        "event": "v",
        "within": "5m",
        "where": {"attr": "category", "op": "=", "value": "savings"},
    },
    "op": ">=",
    "value": 2,
}
SUM = {"sum": {"event": "v", "attr": "amount", "within": "1d"}, "op": ">", "value": 100}
SEQUENCE = {
    "sequence": [
        {"event": "v", "where": {"attr": "step", "op": "=", "value": "a"}},
        {"event": "v", "where": {"attr": "step", "op": "=", "value": "b"}},
        {"event": "v", "where": {"attr": "step", "op": "=", "value": "c"}},
    ],
    "within": "10m",
}
REPEAT = {"sequence": [{"event": "v"}, {"event": "v"}, {"event": "v"}], "within": "1m"}

WINDOW_CASES = [
    pytest.param(COUNT, [(0, {}), (60, {}), (120, {})], True, id="count-3-in-5m"),
    pytest.param(COUNT, [(0, {}), (60, {})], False, id="count-2"),
    pytest.param(COUNT, [(0, {}), (60, {}), (300, {})], False, id="count-oldest-slid-out"),
    pytest.param(COUNT, [(0, {}), (60, {}), (299, {})], True, id="count-just-inside"),
    pytest.param(
        COUNT_SAME,
        [(0, {"screen": "x"}), (1, {"screen": "y"}), (2, {"screen": "x"}), (3, {"screen": "x"})],
        True,
        id="count-same-screen",
    ),
    pytest.param(
        COUNT_SAME,
        [(0, {"screen": "x"}), (1, {"screen": "y"}), (2, {"screen": "y"}), (3, {"screen": "x"})],
        False,
        id="count-other-screen",
    ),
    pytest.param(
        COUNT_SAME,
        [(0, {"screen": "x"}), (1, {"screen": "x"}), (2, {})],
        False,
        id="count-same-missing-on-trigger",
    ),
    pytest.param(
        COUNT_WHERE,
        [(0, {"category": "savings"}), (1, {"category": "card"}), (2, {"category": "savings"})],
        True,
        id="count-where",
    ),
    pytest.param(
        COUNT_WHERE,
        [(0, {"category": "card"}), (1, {"category": "card"}), (2, {"category": "savings"})],
        False,
        id="count-where-fails",
    ),
    pytest.param(SUM, [(0, {"amount": 60}), (10, {"amount": 50})], True, id="sum-over"),
    pytest.param(SUM, [(0, {"amount": 60}), (10, {"amount": "50"})], False, id="sum-ignores-text"),
    pytest.param(SUM, [(0, {"amount": 60}), (DAY, {"amount": 50})], False, id="sum-window-slid"),
    pytest.param(
        SEQUENCE,
        [(0, {"step": "a"}), (60, {"step": "b"}), (120, {"step": "c"})],
        True,
        id="sequence-in-order",
    ),
    pytest.param(
        SEQUENCE,
        [(0, {"step": "b"}), (60, {"step": "a"}), (120, {"step": "c"})],
        False,
        id="sequence-out-of-order",
    ),
    pytest.param(
        SEQUENCE,
        [(0, {"step": "a"}), (60, {"step": "b"}), (601, {"step": "c"})],
        False,
        id="sequence-too-slow",
    ),
    pytest.param(
        SEQUENCE,
        [(0, {"step": "a"}), (60, {"step": "b"}), (120, {"step": "b"})],
        False,
        id="sequence-trigger-is-not-last-step",
    ),
    pytest.param(
        SEQUENCE,
        [(0, {"step": "a"}), (50, {"step": "b"}), (55, {"step": "a"}), (120, {"step": "c"})],
        True,
        id="sequence-with-noise",
    ),
    pytest.param(REPEAT, [(0, {}), (10, {}), (20, {})], True, id="sequence-repeated-step"),
    pytest.param(REPEAT, [(0, {}), (20, {})], False, id="sequence-repeated-step-too-few"),
]


@pytest.mark.parametrize("backend", ["codegen", "closures"])
@pytest.mark.parametrize(("condition", "log", "expected"), WINDOW_CASES)
def test_window_and_sequence(
    condition: dict[str, object],
    log: list[tuple[float, dict[str, object]]],
    expected: bool,
    backend: str,
) -> None:
    spec = rule("v", conditions=condition)
    assert _fires(spec, _views(*log), backend=backend) is expected


PROFILE_CASES = [
    ({"profile": "age", "op": "between", "value": [19, 55]}, {"age": 30}, True),
    ({"profile": "age", "op": "between", "value": [19, 55]}, {"age": 60}, False),
    ({"profile": "age", "op": "between", "value": [19, 55]}, {}, False),
    ({"profile": "tier", "op": "not_in", "value": ["vip"]}, {"tier": "basic"}, True),
    ({"profile": "tier", "op": "exists"}, {}, False),
    ({"profile": "tier", "op": "not_exists"}, {}, True),
    ({"profile": "tags", "op": "contains", "value": "young"}, {"tags": ["young", "saver"]}, True),
]


@pytest.mark.parametrize("backend", ["codegen", "closures"])
@pytest.mark.parametrize(("condition", "profile", "expected"), PROFILE_CASES)
def test_profile_condition(
    condition: dict[str, object], profile: dict[str, object], expected: bool, backend: str
) -> None:
    spec = rule("v", conditions=condition)
    assert _fires(spec, _views((0, {})), profile=profile, backend=backend) is expected


@pytest.mark.parametrize(
    ("members", "expected"),
    [({"young-savers": {"c1"}}, True), ({"young-savers": {"c2"}}, False), ({}, False)],
)
def test_segment_membership(members: dict[str, set[str]], expected: bool) -> None:
    spec = rule("v", conditions={"segment": "young-savers"})
    assert _fires(spec, _views((0, {})), segments=InMemorySegments(members)) is expected


@pytest.mark.parametrize(
    ("score", "expected"), [(0.7, True), (0.6, True), (0.59, False), (None, False)]
)
def test_model_score(score: float | None, expected: bool) -> None:
    spec = rule("v", conditions={"score": "savings_propensity", "op": ">=", "value": 0.6})
    scores = InMemoryScores({"savings_propensity": {} if score is None else {"c1": score}})
    assert _fires(spec, _views((0, {})), scores=scores) is expected


def test_unless_with_same_key_waits_per_cart() -> None:
    # given: an abandoned cart is a cart with no order within 30 minutes
    spec = rule(
        "cart_updated", unless={"event": "order_placed", "within": "30m", "same": ["cart_id"]}
    )
    driver = InMemoryDriver(build_plan([RuleSource(1, 1, spec)]))
    event = EventFactory()
    log = [
        event("cart_updated", "c1", at=0, cart_id="k1"),
        event("cart_updated", "c1", at=60, cart_id="k2"),
        event("order_placed", "c1", at=10 * MINUTE, cart_id="k2"),  # k2 was bought
    ]
    # when
    result = driver.run(log, until=log[0].ts + DAY)
    # then
    [decision] = result.decisions
    assert decision.trigger_event_id == log[0].event_id
    assert decision.occurred_at == log[0].ts + 30 * MINUTE


def test_unless_event_after_the_window_does_not_cancel() -> None:
    spec = rule("v", unless={"event": "w", "within": "5m"})
    driver = InMemoryDriver(build_plan([RuleSource(1, 1, spec)]))
    event = EventFactory()
    log = [event("v", "c1", at=0), event("w", "c1", at=6 * MINUTE)]
    [decision] = driver.run(log).decisions
    assert decision.occurred_at == log[0].ts + 5 * MINUTE


def test_schedule_limits_when_a_campaign_runs() -> None:
    spec = rule("v", schedule={"start": "2025-12-01", "end": "2025-12-31"})
    event = EventFactory()
    inside = event("v", "c1", at=0)  # 8 Dec
    after = event("v", "c1", at=30 * DAY)  # 7 Jan
    driver = InMemoryDriver(build_plan([RuleSource(1, 1, spec)]))
    assert [d.trigger_event_id for d in driver.run([inside, after]).decisions] == [inside.event_id]
