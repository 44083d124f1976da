"""Compiled validators: properties over arbitrary JSON, and the attribute types one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.ingest.validation import events_validate, validators_compile

VALIDATORS = validators_compile(
    {
        "card_transaction": [
            {"name": "amount", "type": "number", "required": True},
            {"name": "merchant_id", "type": "string", "required": True},
            {"name": "online", "type": "boolean"},
            {"name": "at", "type": "datetime"},
            {"name": "channel", "type": "enum", "values": ["app", "web"]},
        ]
    }
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "event_id": json_values,
        "type": st.sampled_from(["card_transaction", "other"]) | json_values,
        "customer_id": st.text(max_size=5) | json_values,
        "timestamp": json_values,
        "attributes": st.dictionaries(
            st.sampled_from(["amount", "merchant_id", "online", "at", "channel", "x"]),
            json_values,
        )
        | json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(envelopes | json_values, max_size=8))
def test_every_event_is_either_accepted_or_rejected_never_a_crash(batch: list) -> None:
    accepted, rejected = events_validate(batch, validators=VALIDATORS)
    indexes = sorted([index for index, _ in accepted] + [r.index for r in rejected])
    assert indexes == list(range(len(batch)))
    for _, event in accepted:
        assert set(event) == {"event_id", "type", "customer_id", "ts", "attributes"}
        assert event["type"] == "card_transaction"
        assert isinstance(event["ts"], float)


def card(**attributes: object) -> dict:
    return {
        "type": "card_transaction",
        "customer_id": "C1",
        "attributes": {"amount": 1, "merchant_id": "M", **attributes},
    }


@pytest.mark.parametrize(
    ("attributes", "field", "error"),
    [
        ({"online": "yes"}, "attributes.online", "must be true or false, not text"),
        ({"at": "31/12/2026"}, "attributes.at", "ISO 8601"),
        ({"at": [1]}, "attributes.at", "not a list"),
        ({"channel": "branch"}, "attributes.channel", "must be one of: app, web"),
        ({"merchant_id": "x" * 1001}, "attributes.merchant_id", "at most 1000 characters"),
        ({"amount": "1"}, "attributes.amount", "must be a number"),
    ],
)
def test_attribute_types_are_checked(attributes: dict, field: str, error: str) -> None:
    _, [rejection] = events_validate([card(**attributes)], validators=VALIDATORS)
    assert rejection.field == field
    assert error in rejection.error


@pytest.mark.parametrize(
    "attributes",
    [{"online": True}, {"at": "2026-12-01T09:30:00+09:00"}, {"at": 1796085000}, {"channel": "web"}],
)
def test_valid_attribute_values_pass(attributes: dict) -> None:
    accepted, rejected = events_validate([card(**attributes)], validators=VALIDATORS)
    assert rejected == []
    assert accepted[0][1]["attributes"] == {"amount": 1, "merchant_id": "M", **attributes}


def test_timestamp_in_iso_with_offset_becomes_epoch_seconds() -> None:
    event = {**card(), "timestamp": "2026-12-01T09:30:00+09:00"}
    [(_, accepted)], _ = events_validate([event], validators=VALIDATORS, now=1796085000.0 + 60)
    assert accepted["ts"] == 1796085000.0
