"""Every predicate operator, table-driven; the generated and the closure paths agree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.engine.codegen import CodeGen
from realtime.engine.predicates import ALL_OPS, Predicate, make_predicate
from realtime.engine.testing import DAY, T0

CASES = [
    # op, value, actual, expected
    ("=", "savings", "savings", True),
    ("=", "savings", "deposit", False),
    ("=", "savings", None, False),
    ("=", 3, 3.0, True),
    ("!=", "savings", "deposit", True),
    ("!=", "savings", "savings", False),
    ("!=", "savings", None, False),  # a missing attribute is "not met", even for !=
    ("in", ["a", "b"], "b", True),
    ("in", ["a", "b"], "c", False),
    ("in", ["a", "b"], None, False),
    ("in", ["a", "b"], ["a"], False),  # unhashable value: not met, no exception
    ("not_in", ["a", "b"], "c", True),
    ("not_in", ["a", "b"], "a", False),
    ("not_in", ["a", "b"], None, False),
    ("<", 100, 99, True),
    ("<", 100, 100, False),
    ("<=", 100, 100, True),
    (">", 100, 100.5, True),
    (">", 100, "101", False),  # text is not a number
    (">", 100, True, False),  # yes/no is not a number
    (">=", 100, 100, True),
    (">=", 100, None, False),
    ("<", "2026-01-01", "2025-12-31", True),  # ISO dates compare as text
    ("<", "2026-01-01", 5, False),
    ("between", [19, 55], 19, True),
    ("between", [19, 55], 55, True),
    ("between", [19, 55], 60, False),
    ("between", [19, 55], "30", False),
    ("contains", "gold", "gold card", True),
    ("contains", "gold", "silver card", False),
    ("contains", "vip", ["vip", "new"], True),
    ("contains", "vip", None, False),
    ("exists", None, 0, True),
    ("exists", None, None, False),
    ("not_exists", None, None, True),
    ("not_exists", None, "x", False),
    ("within_next", 30 * DAY, "2025-12-20", True),
    ("within_next", 30 * DAY, "2026-03-01", False),
    ("within_next", 30 * DAY, "2025-12-01", False),
    ("within_next", 30 * DAY, "2025-12-08", True),  # today counts
    ("within_next", 30 * DAY, T0 + DAY, True),  # epoch seconds
    ("within_next", 30 * DAY, "not a date", False),
    ("within_last", 7 * DAY, "2025-12-03", True),
    ("within_last", 7 * DAY, "2025-11-01", False),
    ("within_last", 7 * DAY, "2025-12-08T00:30:00+00:00", True),
]


def _generated(predicate: Predicate):
    gen = CodeGen()
    expression = predicate.source("x", gen)
    return gen.function("check", "x, at", [f"return {expression}"])


@pytest.mark.parametrize(("op", "value", "actual", "expected"), CASES)
def test_operator(op: str, value: object, actual: object, expected: bool) -> None:
    predicate = make_predicate(op, value)
    assert predicate.check(actual, T0) is expected
    assert bool(_generated(predicate)(actual, T0)) is expected


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["a", "b", "savings", "2025-12-20", "2026-01-01T00:00:00"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=2), scalars, max_size=2),
)


@st.composite
def predicates(draw: st.DrawFn) -> Predicate:
    op = draw(st.sampled_from(ALL_OPS))
    if op in ("in", "not_in"):
        return make_predicate(
            op, draw(st.lists(scalars.filter(lambda v: v is not None), min_size=1, max_size=4))
        )
    if op == "between":
        low, high = sorted(draw(st.lists(st.integers(-100, 100), min_size=2, max_size=2)))
        return make_predicate(op, [low, high])
    if op in ("exists", "not_exists"):
        return make_predicate(op, None)
    if op in ("within_next", "within_last"):
        return make_predicate(op, float(draw(st.integers(1, 400)) * DAY))
    return make_predicate(op, draw(scalars.filter(lambda v: v is not None)))


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failures
@given(predicates(), values)
def test_generated_code_agrees_with_closures_and_never_raises(
    predicate: Predicate, actual: object
) -> None:
    assert bool(_generated(predicate)(actual, T0)) is predicate.check(actual, T0)
