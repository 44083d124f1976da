"""Explanations: every decision and non-decision names what held and what failed, with values."""

from __future__ import annotations

import pytest

from realtime.engine import InMemoryDriver, InMemoryProfiles, RuleSource, build_plan
from realtime.engine.testing import MINUTE, EventFactory, rule

SAVINGS_VIEW = {"attr": "category", "op": "in", "value": ["savings", "deposit"]}
SPEC = rule(
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
    guards={"cap": {"max": 1, "per": "30d"}},
)


def _driver(age: int | None) -> InMemoryDriver:
    profile = {} if age is None else {"age": age}
    return InMemoryDriver(
        build_plan([RuleSource(1, 1, SPEC)]), profiles=InMemoryProfiles({"c1": profile})
    )


@pytest.mark.parametrize(
    ("age", "views", "category", "verdict", "failed_path", "failed_text"),
    [
        (
            60,
            3,
            "savings",
            "conditions_failed",
            "conditions.all[1]",
            "Condition 2: profile 'age' is between 19 and 55 — it was 60",
        ),
        (
            None,
            3,
            "savings",
            "conditions_failed",
            "conditions.all[1]",
            "Condition 2: profile 'age' is between 19 and 55 — it was missing",
        ),
        (
            30,
            2,
            "savings",
            "conditions_failed",
            "conditions.all[0]",
            "Condition 1: the number of 'product_view' events where 'category' is one of "
            "'savings', 'deposit' in the last 1d is at least 3 — it was 2",
        ),
        (
            30,
            3,
            "loans",
            "conditions_failed",
            "trigger.where",
            "Trigger: 'category' is one of 'savings', 'deposit' — it was 'loans'",
        ),
    ],
)
def test_explanation_names_the_condition_that_failed(
    age: int | None, views: int, category: str, verdict: str, failed_path: str, failed_text: str
) -> None:
    # given: earlier views are in the customer's state
    driver = _driver(age)
    event = EventFactory()
    driver.run(
        [event("product_view", "c1", at=m * MINUTE, category="savings") for m in range(views - 1)]
    )
    probe = event("product_view", "c1", at=10 * MINUTE, category=category)
    # when
    [explanation] = driver.engine.explain(probe)
    # then
    assert explanation.verdict == verdict
    failed = [item for item in explanation.items if not item.held]
    assert (failed[-1].path, failed[-1].text) == (failed_path, failed_text)
    assert failed_text in explanation.summary


def test_explain_changes_no_state() -> None:
    driver = _driver(30)
    event = EventFactory()
    driver.run([event("product_view", "c1", at=m, category="savings") for m in range(2)])
    before = driver.engine.snapshot("c1")
    [explanation] = driver.engine.explain(event("product_view", "c1", at=5, category="savings"))
    assert explanation.verdict == "waiting"
    assert "no 'product_subscribed' arrives within 7m" in explanation.summary
    assert driver.engine.snapshot("c1") == before


def test_explain_a_rule_the_event_does_not_trigger() -> None:
    [explanation] = _driver(30).engine.explain(EventFactory()("login", "c1"))
    assert explanation.verdict == "not_triggered"
    assert explanation.summary == "This rule starts on 'product_view' events, not 'login'."


def test_decision_explanation_lists_conditions_with_values_and_guards() -> None:
    driver = _driver(30)
    event = EventFactory()
    result = driver.run(
        [event("product_view", "c1", at=m * MINUTE, category="savings") for m in range(3)],
        until=event.start + 3600,
    )
    [decision] = result.decisions
    assert [(i.kind, i.path, i.held) for i in decision.explanation] == [
        ("trigger", "trigger", True),
        ("condition", "conditions", True),
        ("condition", "conditions.all[0]", True),
        ("condition", "conditions.all[1]", True),
        ("wait", "unless", True),
        ("guard", "guards.cap", True),
        ("guard", "guards.priority", True),
    ]
    assert decision.explanation[2].values == {"count": 3}
    assert decision.explanation[3].values == {"age": 30}


def test_suppressed_decision_explains_the_guard() -> None:
    driver = _driver(30)
    event = EventFactory()
    log = [event("product_view", "c1", at=m * MINUTE, category="savings") for m in (0, 1, 2, 20)]
    result = driver.run(log, until=event.start + 3600)
    suppressed = [d for d in result.decisions if d.outcome == "suppressed"]
    assert [d.suppression_reason for d in suppressed] == ["cap"]
    [guard] = [i for i in suppressed[0].explanation if not i.held]
    assert guard.text == "Cap: at most 1 per 30d for this campaign; 1 so far"
