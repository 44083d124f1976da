"""The live driver's machinery (leases, fenced reads, checkpoint, PostgreSQL writer, dead
letters) with a tiny stand-in evaluator, so these tests do not depend on rule semantics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence

import orjson
import pytest

from campaigns.models import Campaign, CampaignStatus, Decision
from realtime import streams
from realtime.engine.model import BatchResult, Event, OfferAction, decision_id_for
from realtime.engine.model import Decision as EngineDecision
from realtime.live import keys, scripts
from realtime.live.leases import Leases
from realtime.live.worker import Worker


class CountingEngine:
    """Offers on every "buy"; "wait" schedules a timer one second later; "boom" raises."""

    campaign_id = 0

    def __init__(self, plan: object) -> None:
        self.counts: dict[str, int] = {}
        self.timers: dict[str, tuple[float, str]] = {}

    def _decide(self, customer: str, trigger: str, ts: float, timer: str = "") -> EngineDecision:
        return EngineDecision(
            decision_id=decision_id_for(self.campaign_id, 1, customer, trigger, timer),
            campaign_id=self.campaign_id,
            version=1,
            customer_id=customer,
            trigger_event_id=trigger,
            outcome="offer",
            suppression_reason=None,
            variant=None,
            actions=(OfferAction("coupon", "push"),),
            explanation=(),
            occurred_at=ts,
            timer_id=timer or None,
        )

    def process(self, events: Sequence[Event], now: float) -> BatchResult:
        decisions = []
        dirty = set()
        for event in events:
            if event.type == "boom":
                raise RuntimeError("cannot evaluate a boom")
            self.counts[event.customer_id] = self.counts.get(event.customer_id, 0) + 1
            dirty.add(event.customer_id)
            if event.type == "buy":
                decisions.append(self._decide(event.customer_id, event.event_id, event.ts))
            if event.type == "wait":
                self.timers[event.customer_id] = (now + 1.0, event.event_id)
        return BatchResult(
            decisions=tuple(decisions), dirty_customers=frozenset(dirty),
            events_processed=len(events),
        )  # fmt: skip

    def fire_due(self, now: float) -> BatchResult:
        due = [c for c, (at, _) in self.timers.items() if at <= now]
        decisions = []
        for customer in due:
            _, trigger = self.timers.pop(customer)
            decisions.append(self._decide(customer, trigger, now, "t"))
        return BatchResult(decisions=tuple(decisions), dirty_customers=frozenset(due))

    def next_due(self) -> float | None:
        return min((at for at, _ in self.timers.values()), default=None)

    def timers_pending(self) -> int:
        return len(self.timers)

    def customers(self) -> int:
        return len(self.counts)

    def snapshot(self, customer_ids: Iterable[str]) -> dict[str, bytes | None]:
        return {
            c: orjson.dumps({"n": self.counts[c], "t": self.timers.get(c)})
            if c in self.counts
            else None
            for c in customer_ids
        }

    def restore(self, blobs: Mapping[str, bytes | None]) -> None:
        for customer, blob in blobs.items():
            if blob is None:
                self.counts.pop(customer, None)
                self.timers.pop(customer, None)
                continue
            data = orjson.loads(blob)
            self.counts[customer] = data["n"]
            if data["t"]:
                self.timers[customer] = tuple(data["t"])

    def plan_set(self, plan: object) -> None:
        return None


def event_append(customer: str, event_type: str, event_id: str) -> str:
    event = {"event_id": event_id, "type": event_type, "customer_id": customer,
             "ts": time.time(), "attributes": {}}  # fmt: skip
    stream = streams.event_stream_key(streams.partition_of(customer))
    return streams.redis_client().xadd(stream, {"e": orjson.dumps(event)}).decode()


@pytest.fixture
def campaign(make_user) -> Campaign:
    owner = make_user("marketer")
    campaign = Campaign.objects.create(name="c", owner=owner, status=CampaignStatus.PUBLISHED)
    CountingEngine.campaign_id = campaign.id
    return campaign


def worker_start(**kwargs) -> tuple[Worker, threading.Thread]:
    worker = Worker(engine_factory=CountingEngine, partitions=4, **kwargs)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.mark.django_db(transaction=True)
def test_worker_writes_each_decision_once_and_checkpoints(campaign, settings):
    # given
    settings.CDP_PARTITIONS = 4
    for i in range(50):
        event_append(f"c{i % 7}", "buy" if i % 2 == 0 else "view", f"e{i}")
    worker, thread = worker_start()
    try:
        # when
        wait_for(lambda: Decision.objects.count() == 25)
        wait_for(lambda: streams.redis_client().xlen(keys.decisions()) == 25)
    finally:
        worker.stop()
        thread.join(10)
    # then
    client = streams.redis_client()
    assert Decision.objects.filter(campaign=campaign).count() == 25
    assert client.hget(keys.counters(campaign.id), "offer") == b"25"
    for partition in range(4):
        stream = streams.event_stream_key(partition)
        assert client.xpending(stream, keys.GROUP)["pending"] == 0
        last = client.xrevrange(stream, count=1)
        if last:
            assert client.get(keys.offset(partition)) == last[0][0]
    assert client.hgetall(keys.heartbeats()) == {}  # graceful stop removes its heartbeat
    assert all(client.get(keys.lease(p)) is None for p in range(4))


@pytest.mark.django_db(transaction=True)
def test_new_owner_restores_state_and_rereads_uncommitted_entries(campaign, settings):
    # given a worker that read entries and died before its checkpoint
    settings.CDP_PARTITIONS = 4
    customer = "solo"
    partition = streams.partition_of(customer, 4)
    for i in range(3):
        event_append(customer, "buy", f"a{i}")
    first = Worker(engine_factory=CountingEngine, partitions=4, worker_id="first")
    first.leases = Leases(first.client, "first", ttl_s=0.3)
    first._leases_tick(time.time())
    first._commit_works(first._read_and_evaluate())  # pending list pass
    first._commit_works(first._read_and_evaluate())  # commits a0..a2
    for i in range(3):
        event_append(customer, "buy", f"b{i}")
    first._read_and_evaluate()  # reads b0..b2, then "crashes": no checkpoint, no XACK
    client = streams.redis_client()
    assert client.xpending(streams.event_stream_key(partition), keys.GROUP)["pending"] == 3
    time.sleep(0.4)  # its lease expires

    # when another worker takes over
    second, thread = worker_start(worker_id="second")
    try:
        wait_for(lambda: Decision.objects.count() == 6)
        wait_for(lambda: partition in second.runs and second.runs[partition].read_id == ">")
        wait_for(lambda: second.runs[partition].engine.counts.get(customer) == 6)
    finally:
        second.stop()
        thread.join(10)

    # then nothing skipped, nothing twice, state carried over
    assert sorted(Decision.objects.values_list("trigger_event_id", flat=True)) == [
        "a0", "a1", "a2", "b0", "b1", "b2",
    ]  # fmt: skip
    assert client.xlen(keys.decisions()) == 6
    assert orjson.loads(client.hget(keys.state(partition), customer))["n"] == 6


@pytest.mark.django_db(transaction=True)
def test_a_fenced_off_worker_can_neither_read_nor_commit(campaign, settings):
    settings.CDP_PARTITIONS = 4
    client = streams.redis_client()
    stale = Leases(client, "stale", ttl_s=0.2)
    assert stale.acquire(0) is not None
    token = stale.held[0].token
    time.sleep(0.3)
    fresh = Leases(client, "fresh")
    lease = fresh.acquire(0)
    assert lease is not None and lease.epoch == 2

    read = client.register_script(scripts.READ)
    reply = read(
        keys=[keys.lease(0), streams.event_stream_key(0)],
        args=[keys.GROUP, 10, token, keys.consumer(0), ">"],
    )
    commit = client.register_script(scripts.COMMIT)
    written = commit(
        keys=[keys.lease(0), keys.offset(0), keys.state(0), streams.event_stream_key(0),
              keys.decisions(), keys.dead_letters(), keys.derived_events()],
        args=[token, "9-9", keys.GROUP, 1, "x", "state", 0, 0, 0, 0, 0, 0],
    )  # fmt: skip
    assert reply == [0]
    assert written == 0
    assert client.get(keys.offset(0)) is None
    assert client.hgetall(keys.state(0)) == {}


@pytest.mark.django_db(transaction=True)
def test_poison_event_goes_to_dead_letters_and_the_partition_flows(campaign, settings):
    settings.CDP_PARTITIONS = 4
    event_append("p1", "buy", "before")
    event_append("p1", "boom", "poison")
    event_append("p1", "buy", "after")
    worker, thread = worker_start()
    try:
        wait_for(lambda: Decision.objects.count() == 2)
        wait_for(lambda: streams.redis_client().xlen(keys.dead_letters()) == 1)
    finally:
        worker.stop()
        thread.join(10)
    dead = streams.redis_client().xrange(keys.dead_letters())
    fields = dead[0][1]
    assert orjson.loads(fields[b"e"])["event_id"] == "poison"
    assert b"cannot evaluate a boom" in fields[b"error"]
    assert fields[b"tries"] == b"3"


@pytest.mark.django_db(transaction=True)
def test_timers_survive_a_takeover_and_fire_once(campaign, settings):
    settings.CDP_PARTITIONS = 4
    event_append("t1", "wait", "w1")
    worker, thread = worker_start(worker_id="one")
    wait_for(lambda: any(run.engine.timers_pending() for run in worker.runs.values()))
    worker.stop()  # graceful: the timer is in the checkpoint
    thread.join(10)
    assert Decision.objects.count() == 0
    other, thread = worker_start(worker_id="two")
    try:
        wait_for(lambda: Decision.objects.count() == 1, timeout=5)
        time.sleep(0.3)
    finally:
        other.stop()
        thread.join(10)
    assert Decision.objects.get().trigger_event_id == "w1"
