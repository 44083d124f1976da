"""Property: over any event log, the live driver (Redis Streams, partitions, checkpoints,
PostgreSQL) decides exactly what the in-memory reference driver of the engine core decides."""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.models import Decision
from realtime import streams
from realtime.engine import InMemoryDriver, RuleSource, build_plan
from realtime.engine.model import Event
from realtime.live.worker import Worker

SAVINGS = {"attr": "category", "op": "in", "value": ["savings", "deposit"]}
SPECS = [
    {"spec": 1, "name": "three savings views", "trigger": {"event": "product_view",
     "where": SAVINGS}, "conditions": {"count": {"event": "product_view", "where": SAVINGS,
     "within": "1h"}, "op": ">=", "value": 3}, "actions": [{"set_profile":
     {"interest": "savings"}}, {"emit": {"event": "savings_interest"}}]},
    {"spec": 1, "name": "interest and salary", "trigger": {"event": "savings_interest"},
     "conditions": {"count": {"event": "salary_deposit", "within": "1h"}, "op": ">=",
     "value": 1}, "actions": [{"offer": "savings-offer", "channel": "push"}],
     "guards": {"holdout": 0.3}},
    {"spec": 1, "name": "salary with interest", "trigger": {"event": "salary_deposit"},
     "conditions": {"profile": "interest", "op": "=", "value": "savings"},
     "actions": [{"offer": "savings-offer", "channel": "push"}]},
    {"spec": 1, "name": "lost", "trigger": {"event": "screen_view"}, "conditions": {"count":
     {"event": "screen_view", "within": "1h", "same": ["screen"]}, "op": ">=", "value": 3},
     "actions": [{"notify_staff": {"team": "t", "message": "lost"}}],
     "guards": {"cap": {"max": 2, "per": "1d"}}},
    {"spec": 1, "name": "sequence", "trigger": {"event": "salary_deposit"}, "conditions":
     {"sequence": [{"event": "screen_view"}, {"event": "salary_deposit"}], "within": "1h"},
     "actions": [{"offer": "seq-offer", "channel": "sms"}]},
]  # fmt: skip

EVENTS = st.one_of(
    st.tuples(st.just("product_view"), st.sampled_from(["savings", "deposit", "loan"])),
    st.tuples(st.just("salary_deposit"), st.just("")),
    st.tuples(st.just("screen_view"), st.sampled_from(["home", "transfer"])),
)
LOG = st.lists(st.tuples(st.integers(0, 2), EVENTS), min_size=10, max_size=60)


@pytest.fixture
def live_worker(transactional_db, settings_, campaign_live):
    campaigns = [campaign_live(spec) for spec in SPECS]
    worker = Worker(partitions=4, worker_id="property", batch=7)  # small batches on purpose
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while (len(worker.runs) < 4 or worker.plan is None or len(worker.plan.rules) < 5) and (
        time.time() < deadline
    ):
        time.sleep(0.05)
    yield worker, campaigns
    worker.stop()
    thread.join(10)


@pytest.fixture
def settings_(settings):
    settings.CDP_PARTITIONS = 4
    return settings


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(log=LOG)
def test_live_decisions_equal_the_reference_drivers(live_worker, log):
    worker, campaigns = live_worker
    run = uuid.uuid4().hex[:8]
    start = time.time()
    events = [
        Event(
            event_id=f"{run}-{index}",
            type=kind,
            customer_id=f"{run}-c{customer}",
            ts=start + index * 0.001,
            attributes=(
                {"category": value}
                if kind == "product_view"
                else {"screen": value}
                if kind == "screen_view"
                else {}
            ),
        )
        for index, (customer, (kind, value)) in enumerate(log)
    ]
    # the reference
    plan = build_plan([RuleSource(c.id, 1, spec) for c, spec in zip(campaigns, SPECS, strict=True)])
    reference = InMemoryDriver(plan).run(events)
    expected = sorted((d.decision_id, d.outcome) for d in reference.decisions)
    # live
    client = streams.redis_client()
    last: dict[int, str] = {}
    for event in events:
        partition = streams.partition_of(event.customer_id)
        entry = client.xadd(
            streams.event_stream_key(partition), {"e": orjson.dumps(event.to_dict())}
        )
        last[partition] = entry.decode()
    deadline = time.time() + 20

    def done() -> bool:
        return all(
            p in worker.runs
            and tuple(map(int, worker.runs[p].offset.split("-"))) >= tuple(map(int, i.split("-")))
            for p, i in last.items()
        )

    while not done():
        assert time.time() < deadline, "the live worker did not catch up"
        time.sleep(0.02)
    live = sorted(
        (str(i), o)
        for i, o in Decision.objects.filter(customer_id__startswith=f"{run}-").values_list(
            "id", "outcome"
        )
    )
    print(f"property example: {len(events)} events, {len(expected)} decisions")
    assert live == expected
