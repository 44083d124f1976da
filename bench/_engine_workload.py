"""The workload of ``bench/engine.py``: what a bank's live engine sees, and the worst case.

Realistic (the headline figures): the campaigns of scenarios 1, 2, 3, 7 and 8 of
shared/SCENARIOS.md with their real windows, plus a calendar of 300 filler campaigns (the
realistic calendar of ``bench/engine_core.py``: merchant offers, product interest windows,
absence timers, sequences, spend sums, branch follow-ups, profile segments, every guard) over
the event mix of a bank app (sessions of screen views, app opens, product views, card payments,
logins, transfers...; ``bench.engine_core._session``). Customers have profiles in the Redis
mirror (age, tier, balance; a deposit maturity date for some). A few percent of events decide.

Worst case: one campaign that decides on every ``bench_tick`` event.

Events carry no ``timestamp``: the ingest API stamps ``ts`` with the moment it received the
request, so a decision's ``occurred_at`` is that moment and ``decided_at - occurred_at`` is the
latency from the API receiving the request to the decision committed.
"""

from __future__ import annotations

import datetime as dt
import json
import random

from bench._ingest_load import PLACEHOLDER

SAVINGS = ["savings", "installment_savings", "deposit", "housing_subscription"]
SAVINGS_VIEW = {"attr": "category", "op": "in", "value": SAVINGS}
TICK = "bench_tick"

#: Event types of the bank-app mix the demo registry does not define (attributes optional).
EXTRA_EVENT_TYPES = ["app_open", "login", "transfer", "search", "push_open", TICK]


def scenario_specs() -> list[dict[str, object]]:
    """Scenarios 1, 2, 3, 7 and 8 as a bank runs them (production windows, caps)."""
    return [
        {
            "spec": 1,
            "name": "S1 savings sign-up nudge",
            "trigger": {"event": "product_view", "where": SAVINGS_VIEW},
            "conditions": {
                "all": [
                    {
                        "count": {"event": "product_view", "where": SAVINGS_VIEW, "within": "1d"},
                        "op": ">=",
                        "value": 3,
                    },
                    {"profile": "age", "op": "between", "value": [19, 55]},
                ]
            },
            "unless": {"event": "product_subscribed", "within": "30m"},
            "actions": [{"offer": "savings-signup-coupon", "channel": "push", "fallback": "sms"}],
            "guards": {"cap": {"max": 1, "per": "30d"}},
        },
        {
            "spec": 1,
            "name": "S2 lost in the app",
            "trigger": {"event": "screen_view"},
            "conditions": {
                "count": {"event": "screen_view", "within": "5m", "same": ["screen"]},
                "op": ">=",
                "value": 4,
            },
            "actions": [
                {"notify_staff": {"team": "call_centre", "message": "Customer lost on {screen}"}}
            ],
            "guards": {"cap": {"max": 1, "per": "1h"}},
        },
        {
            "spec": 1,
            "name": "S3 maturity ahead",
            "trigger": {"event": "yield_inquiry"},
            "conditions": {"profile": "deposit_maturity_date", "op": "within_next", "value": "30d"},
            "actions": [
                {"notify_staff": {"team": "call_centre", "message": "Call about re-deposit"}},
                {"offer": "redeposit-offer", "channel": "sms"},
            ],
            "guards": {"cap": {"max": 1, "per": "7d"}},
        },
        {
            "spec": 1,
            "name": "S7 after the branch visit",
            "trigger": {"event": "branch_visit"},
            "delay": "30m",
            "conditions": {
                "not": {
                    "count": {"event": "survey_answered", "within": "30d"},
                    "op": ">=",
                    "value": 1,
                }
            },
            "actions": [{"offer": "satisfaction-survey", "channel": "sms"}],
        },
        {
            "spec": 1,
            "name": "S8 A savings interest",
            "trigger": {"event": "product_view", "where": SAVINGS_VIEW},
            "conditions": {
                "count": {"event": "product_view", "where": SAVINGS_VIEW, "within": "7d"},
                "op": ">=",
                "value": 3,
            },
            "actions": [
                {"set_profile": {"interest": "savings"}},
                {"emit": {"event": "savings_interest"}},
            ],
            "guards": {"cap": {"max": 1, "per": "7d"}},
        },
        {
            "spec": 1,
            "name": "S8 B interest with salary",
            "trigger": {"event": "savings_interest"},
            "conditions": {
                "count": {"event": "salary_deposit", "within": "30d"},
                "op": ">=",
                "value": 1,
            },
            "actions": [{"offer": "savings-offer", "channel": "push"}],
        },
        {
            "spec": 1,
            "name": "S8 C salary with interest",
            "trigger": {"event": "salary_deposit"},
            "conditions": {"profile": "interest", "op": "=", "value": "savings"},
            "actions": [{"offer": "savings-offer", "channel": "push"}],
        },
    ]


def filler_specs(count: int = 300) -> list[dict[str, object]]:
    from bench.engine_core import campaigns

    return [source.spec for source in campaigns(count)]


def all_decide_spec() -> dict[str, object]:
    return {
        "spec": 1,
        "name": "every tick decides",
        "trigger": {"event": TICK},
        "actions": [{"notify_staff": {"team": "bench", "message": "tick {n}"}}],
    }


def customer_id(number: int) -> str:
    return f"c{number}"


def profiles(customers: int, seed: int = 11) -> dict[str, dict[str, object]]:
    """Traits of the mirror: age, tier, balance, time zone; a deposit maturing for one in ten."""
    rnd = random.Random(seed)
    today = dt.date.today()
    tiers = ["basic", "silver", "gold", "vip"]
    traits: dict[str, dict[str, object]] = {}
    for number in range(customers):
        profile: dict[str, object] = {
            "age": rnd.randint(19, 80),
            "tier": rnd.choice(tiers),
            "balance": float(int(rnd.lognormvariate(15, 1.5))),
            "timezone": "Asia/Seoul",
        }
        if rnd.random() < 0.1:
            profile["deposit_maturity_date"] = str(today + dt.timedelta(days=rnd.randint(1, 90)))
        traits[customer_id(number)] = profile
    return traits


def _body(run_id: str, events: list[dict[str, object]]) -> bytes:
    for position, event in enumerate(events):
        event["event_id"] = f"{run_id}-{PLACEHOLDER.decode()}-{position:04d}"
    return json.dumps({"events": events}, separators=(",", ":")).encode()


def realistic_bodies(
    run_id: str, *, customers: int, batch_size: int, count: int, seed: int = 5
) -> list[bytes]:
    """``count`` request bodies of ``batch_size`` events: app sessions of random customers."""
    from bench.engine_core import _session

    rnd = random.Random(seed)
    counter = [0]
    events: list[dict[str, object]] = []
    while len(events) < batch_size * count:
        customer = customer_id(rnd.randrange(customers))
        for event in _session(rnd, customer, 0.0, counter):
            events.append(
                {"type": event.type, "customer_id": customer, "attributes": event.attributes}
            )
    return [
        _body(run_id, [dict(e) for e in events[i * batch_size : (i + 1) * batch_size]])
        for i in range(count)
    ]


def all_decide_bodies(run_id: str, *, customers: int, batch_size: int, count: int) -> list[bytes]:
    rnd = random.Random(9)
    return [
        _body(
            run_id,
            [
                {
                    "type": TICK,
                    "customer_id": customer_id(rnd.randrange(customers)),
                    "attributes": {"n": position},
                }
                for position in range(batch_size)
            ],
        )
        for _ in range(count)
    ]
