"""Property: whatever JSON a draft holds, the designer's words, diff, flow and cards never raise.

Drafts are saved half-written (the designer autosaves invalid specs so errors show on their
blocks), and the API accepts any object as a draft before it is published.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.designer.blocks import blocks_html, cards_for
from campaigns.designer.edits import EditError, apply_edit
from campaigns.spec.catalog import Catalog, EventAttribute
from campaigns.spec.diff import spec_diff
from campaigns.spec.flow import flow_svg
from campaigns.spec.words import summary

CATALOG = Catalog(
    event_types={"product_view": (EventAttribute("category", "enum", ("savings", "loan")),)},
    profile_attributes={"age": "number", "expiry": "date"},
    offers={"coupon": "Coupon"},
    has_registry=True,
    has_offers=True,
)
KEYS = st.sampled_from(
    ["trigger", "conditions", "all", "any", "not", "attr", "profile", "op", "value", "count",
     "sum", "sequence", "event", "within", "same", "where", "unless", "delay", "actions",
     "variants", "offer", "channel", "guards", "cap", "max", "per", "holdout", "goal", "name",
     "segment", "score", "date", "offset", "quiet_hours", "budget", "set_profile", "emit"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
    st.sampled_from(["", "7m", "between", ">=", "in", "product_view", "age", "x"]),
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(spec=st.dictionaries(KEYS, JSON, max_size=8), other=st.dictionaries(KEYS, JSON, max_size=5))
def test_designer_reads_any_json_without_raising(spec: dict[str, Any], other: dict[str, Any]):
    assert isinstance(summary(spec), str)
    assert isinstance(spec_diff(other, spec), list)
    assert flow_svg(spec).startswith("<svg")
    cards = cards_for(spec, CATALOG, edit_url="/edit/")
    assert "designer-card" in blocks_html(cards, "/edit/", True)


@settings(max_examples=300, deadline=None)
@given(
    spec=st.dictionaries(KEYS, JSON, max_size=6),
    op=st.sampled_from(["set", "add", "remove", "up", "down", "move", "toggle", "nonsense"]),
    path=st.sampled_from(["trigger.event", "conditions.all[0]", "conditions.all", "actions[0]",
                          "guards.cap.max", "unless", "x[3].y", "", "conditions.all[0].value[1]",
                          "trigger.where", "variants"]),
    what=st.sampled_from(["count", "profile", "offer", "filter", "unless", "ab", "negate",
                          "group_any", "cap", "step", "variant", "?"]),
    value=st.sampled_from(["", "3", "abc", "7 minutes", "-1"]),
    kind=st.sampled_from(["text", "number", "duration", "list", "percent", "multi", "bool"]),
)  # fmt: skip
def test_an_edit_either_applies_or_says_why(
    spec: dict[str, Any], op: str, path: str, what: str, value: str, kind: str
) -> None:
    try:
        edited = apply_edit(spec, op=op, path=path, catalog=CATALOG, value=value,
                            values=[value], kind=kind, what=what)  # fmt: skip
    except EditError as error:
        assert str(error)
        return
    assert isinstance(edited, dict)
    cards_for(edited, CATALOG)
