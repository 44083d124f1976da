"""The compiler: clear errors with JSON paths for bad specs, never an exception, loops caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.engine import (
    RULE_SPEC_SCHEMA,
    RuleSource,
    SpecErrors,
    build_plan,
    compile_spec,
    rule_cycles,
    validate_spec,
)
from realtime.engine.compiler import TOP_LEVEL_KEYS
from realtime.engine.schema import schema_text
from realtime.engine.testing import rule

EVENT_TYPES = {
    "card_transaction": {"amount": "number", "region": "string", "merchant_id": "string"},
    "product_view": {"category": "string", "product_id": "string"},
    "product_subscribed": {"product_id": "string"},
}
ROOT = Path(__file__).resolve().parents[3]


def _errors(spec: object, **registry: object) -> list[tuple[str, str]]:
    return [(error.path, error.message) for error in validate_spec(spec, **registry)]


BAD_SPECS = [
    pytest.param(
        rule(
            "card_transaction",
            conditions={
                "all": [
                    {"attr": "region", "op": "=", "value": "Gangnam-gu"},
                    {"attr": "amount", "op": "between", "value": [100]},
                ]
            },
        ),
        "conditions.all[1].value",
        "Condition 2: 'amount' is a number; 'between' needs two numbers, low first.",
        id="between-needs-two-numbers",
    ),
    pytest.param(
        rule("card_transaction", conditions={"attr": "amount", "op": ">", "value": "lots"}),
        "conditions.value",
        "Condition 1: 'amount' is a number; '>' needs a number.",
        id="wrong-type",
    ),
    pytest.param(
        rule("card_transaction", conditions={"attr": "amout", "op": ">", "value": 1}),
        "conditions.attr",
        "Condition 1: event 'card_transaction' has no attribute 'amout'.",
        id="unknown-attribute",
    ),
    pytest.param(
        rule("card_swipe"),
        "trigger.event",
        "Trigger: there is no event type 'card_swipe'.",
        id="unknown-event-type",
    ),
    pytest.param(
        {**rule("product_view"), "colour": "blue"},
        "colour",
        "Rule: unknown field 'colour' (expected one of 'spec', 'name', 'description', "
        "'schedule', 'trigger', 'conditions', 'unless', 'delay', 'actions', 'variants', "
        "'guards', 'goal').",
        id="unknown-field",
    ),
    pytest.param(
        rule(
            "product_view",
            conditions={"count": {"event": "product_view", "within": "0s"}, "op": ">=", "value": 3},
        ),
        "conditions.count.within",
        "Condition 1: a window must last at least one second.",
        id="zero-window",
    ),
    pytest.param(
        rule(
            "product_view",
            conditions={"count": {"event": "product_view", "within": "5y"}, "op": ">=", "value": 3},
        ),
        "conditions.count.within",
        'Condition 1: \'5y\' is not a duration (write "90s", "7m", "12h" or "30d").',
        id="bad-duration",
    ),
    pytest.param(
        rule(
            "product_view",
            conditions={
                "count": {"event": "product_view", "within": "900d"},
                "op": ">=",
                "value": 3,
            },
        ),
        "conditions.count.within",
        "Condition 1: windows can look back at most 400 days.",
        id="too-long-window",
    ),
    pytest.param(
        rule(
            "product_view",
            conditions={"count": {"event": "product_view", "within": "1d"}, "op": "<", "value": 0},
        ),
        "conditions.value",
        "Condition 1: a count is never below zero, so this condition can never hold.",
        id="impossible-count",
    ),
    pytest.param(
        rule("product_view", unless={"event": "product_subscribed", "within": "-7m"}),
        "unless.within",
        'Unless: \'-7m\' is not a duration (write "90s", "7m", "12h" or "30d").',
        id="negative-unless",
    ),
    pytest.param(
        rule("product_view", guards={"holdout": 1.5}),
        "guards.holdout",
        "Holdout: a share from 0 up to (not including) 1, such as 0.1 for 10%.",
        id="holdout-share",
    ),
    pytest.param(
        rule("product_view", guards={"quiet_hours": {"from": "25:00", "to": "08:00"}}),
        "guards.quiet_hours.from",
        "Quiet hours: '25:00' is not a time of day (write 21:00).",
        id="quiet-hours-clock",
    ),
    pytest.param(
        rule("product_view", actions=[{"offer": "x", "channel": "pigeon"}]),
        "actions[0].channel",
        "Action 1: 'pigeon' is not a channel (use one of push, sms, email, webhook, in_app).",
        id="unknown-channel",
    ),
    pytest.param(
        rule(
            "product_view",
            variants=[
                {"name": "A", "share": 0.5, "actions": [{"offer": "a", "channel": "push"}]},
                {"name": "B", "share": 0.3, "actions": [{"offer": "b", "channel": "push"}]},
            ],
        ),
        "variants",
        "Variants: the shares add up to 0.8; they must add up to 1.",
        id="variant-shares",
    ),
    pytest.param(
        rule("product_view", actions=[{"emit": {"event": "product_view"}}]),
        "actions",
        "Actions: this rule emits 'product_view', which is its own trigger: it would fire "
        "itself forever.",
        id="self-loop",
    ),
    pytest.param(
        rule(
            "card_transaction",
            conditions={
                "sequence": [{"event": "product_view"}, {"event": "product_view"}],
                "within": "10m",
            },
        ),
        "conditions.sequence[1].event",
        "Condition 1: the last step of a sequence is the trigger, so it must be "
        "'card_transaction'.",
        id="sequence-last-step",
    ),
    pytest.param(
        {
            "spec": 2,
            "name": "x",
            "trigger": {"event": "product_view"},
            "actions": [{"offer": "x", "channel": "push"}],
        },
        "spec",
        "This rule is written for version 2 of the rule language; this platform reads version 1.",
        id="version",
    ),
    pytest.param([], "", "A rule is a JSON object, not a list.", id="not-an-object"),
]


@pytest.mark.parametrize(("spec", "path", "message"), BAD_SPECS)
def test_bad_spec_gets_a_clear_error_at_its_path(spec: object, path: str, message: str) -> None:
    assert (path, message) in _errors(spec, event_types=EVENT_TYPES)
    with pytest.raises(SpecErrors):
        compile_spec(spec, event_types=EVENT_TYPES)


def test_ten_thousand_conditions_are_refused_as_too_complex() -> None:
    # given
    many = [{"attr": "amount", "op": ">", "value": index} for index in range(10_000)]
    # when
    errors = validate_spec(rule("card_transaction", conditions={"all": many}))
    # then
    assert [error.code for error in errors] == ["too_complex"]
    assert "more than 200 conditions" in errors[0].message


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    block: dict[str, object] = {"attr": "amount", "op": ">", "value": 1}
    for _ in range(5_000):
        block = {"not": block}
    errors = validate_spec(rule("card_transaction", conditions=block))
    assert errors and errors[0].code == "too_complex"


def test_example_of_the_spec_compiles() -> None:
    savings = ["savings", "installment_savings", "deposit", "housing_subscription"]
    spec = rule(
        {"event": "product_view", "where": {"attr": "category", "op": "in", "value": savings}},
        schedule={"start": "2026-12-01", "end": "2026-12-31"},
        conditions={
            "all": [
                {
                    "count": {
                        "event": "product_view",
                        "where": {"attr": "category", "op": "in", "value": savings},
                        "within": "1d",
                    },
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
    compiled = compile_spec(spec, event_types=EVENT_TYPES)
    assert compiled.trigger_event == "product_view"
    assert compiled.guards.priority == 50
    assert len(compiled.streams) == 1


def test_cycle_between_rules_is_rejected_when_the_plan_is_built() -> None:
    # given: A emits x (triggers B), B emits y (triggers A)
    a = rule("y", actions=[{"emit": {"event": "x"}}])
    b = rule("x", actions=[{"emit": {"event": "y"}}])
    # when
    with pytest.raises(SpecErrors) as failure:
        build_plan([RuleSource(1, 1, a), RuleSource(2, 1, b)])
    # then
    [error] = failure.value.errors
    assert error.code == "rule_cycle"
    assert "campaign 1 (via event 'x') → campaign 2 (via event 'y') → campaign 1" in error.message


def test_chain_without_cycle_is_accepted() -> None:
    a = compile_spec(rule("view", actions=[{"emit": {"event": "interest"}}]))
    b = compile_spec(rule("interest"))
    assert rule_cycles([(1, a), (2, b)]) == []


def test_published_schema_file_matches_the_code() -> None:
    published = ROOT / "docs" / "rule-spec.schema.json"
    assert published.read_text(encoding="utf-8") == schema_text()
    assert json.loads(published.read_text())["properties"]["spec"] == {"const": 1}
    assert set(RULE_SPEC_SCHEMA["properties"]) == set(TOP_LEVEL_KEYS)  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
spec_keys = st.sampled_from(
    [
        *TOP_LEVEL_KEYS,
        "event",
        "where",
        "attr",
        "op",
        "value",
        "all",
        "any",
        "not",
        "count",
        "within",
        "same",
        "sequence",
        "profile",
        "segment",
        "score",
        "sum",
        "offer",
        "channel",
        "date",
        "offset",
        "cap",
        "max",
        "per",
        "holdout",
        "quiet_hours",
        "from",
        "to",
        "then",
    ]
)
spec_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats()
    | st.sampled_from(["1d", "7m", "0s", "=", "in", ">=", "between", "push", "x", "21:00"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(spec_keys, children, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        spec_like,
        st.builds(lambda extra: {**rule("x"), **extra}, st.dictionaries(spec_keys, spec_like)),
    )
)
def test_compiler_returns_errors_never_raises_for_any_json(spec: object) -> None:
    errors = validate_spec(spec)
    try:
        compile_spec(spec)
    except SpecErrors as failure:
        assert list(failure.errors) == errors
        assert all(error.message for error in errors)
    else:
        assert errors == []


def _documented_specs() -> list[dict[str, object]]:
    text = (ROOT / "docs" / "rule-spec.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```json")[1:]]
    return [spec for spec in map(json.loads, blocks) if isinstance(spec, dict) and "spec" in spec]


def test_every_example_in_the_reference_page_compiles_and_plans_together() -> None:
    specs = _documented_specs()
    assert len(specs) == 10  # scenarios 1-7 and the three rules of scenario 8
    for spec in specs:
        assert validate_spec(spec) == [], spec["name"]
    build_plan([RuleSource(n, 1, spec) for n, spec in enumerate(specs, start=1)])
