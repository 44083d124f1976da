"""The engine worker: leases, fenced reads, evaluation, PostgreSQL, checkpoint. See the package
docstring for the design; this module is the loop that joins the pieces."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import math
import os
import socket
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson
import redis
from django.conf import settings
from django.db import DatabaseError, connection

from realtime import streams
from realtime.engine.model import BatchResult, Decision, Event
from realtime.engine.plan import Plan
from realtime.live import keys, reload, scripts, store
from realtime.live.core import PartitionEngine, engine_build, plan_build
from realtime.live.leases import LEASE_TTL_S, RENEW_S, Lease, Leases
from realtime.live.readers import MirrorProfiles, RedisBudget

logger = logging.getLogger(__name__)

BATCH = 4000  # entries per loop turn, shared by the owned partitions
TICK_S = 0.1  # longest sleep when idle: timers fire within this of falling due
MAX_TRIES = 3  # evaluations of a poison event before it goes to the dead-letter stream
METRICS_S = 1.0
# A worker whose lease would have expired no longer counts: its share goes at once.
HEARTBEAT_FRESH_S = LEASE_TTL_S


@dataclass
class PartitionRun:
    """What a worker keeps for one partition it owns."""

    lease: Lease
    engine: PartitionEngine
    offset: str  # last checkpointed stream id ("0-0" when none)
    read_id: str = "0"  # "0..." while re-reading the pending list, then ">"
    last_id: str = "0-0"  # newest id read, for the idle XREAD
    events: int = 0
    decisions: int = 0
    dead: int = 0
    rate_window: deque[tuple[float, int, int]] = field(default_factory=lambda: deque(maxlen=12))


@dataclass
class BatchWork:
    """One partition's share of a loop turn, between evaluation and checkpoint."""

    partition: int
    result: BatchResult = field(default_factory=BatchResult)
    acks: list[str] = field(default_factory=list)
    offset: str = ""
    dead: list[tuple[str, bytes, str, int]] = field(default_factory=list)
    state_customers: set[str] = field(default_factory=set)


@dataclass
class ReadRequest:
    """A fenced read of the partitions owned when it was issued (see ``_read_and_evaluate``)."""

    runs: dict[int, PartitionRun]
    keys: list[str] = field(default_factory=list)
    args: list[object] = field(default_factory=list)


@dataclass
class PreparedCommit:
    """A turn's works made ready to commit: rows for PostgreSQL, one checkpoint per partition."""

    works: dict[int, BatchWork]
    decisions: list[Decision] = field(default_factory=list)
    conversions: list = field(default_factory=list)
    facts: dict[str, dict[str, object]] = field(default_factory=dict)
    scripts: list[tuple[int, list[str], list[object]]] = field(default_factory=list)
    runs: dict[int, PartitionRun] = field(default_factory=dict)  # the runs it was made for


def _id_tuple(stream_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _event(data: dict) -> Event:
    """The stream's event JSON -> :class:`Event`; the ingest API wrote it, so the fast path
    only checks the types the core relies on (anything else goes through ``from_dict``)."""
    attributes = data.get("attributes")
    ts = data.get("ts")
    event_id = data.get("event_id")
    kind = data.get("type")
    customer_id = data.get("customer_id")
    if (
        type(attributes) is dict
        and type(ts) is float
        and type(event_id) is str
        and type(kind) is str
        and type(customer_id) is str
    ):
        return Event(event_id, kind, customer_id, ts, attributes)
    return Event.from_dict(data)


class Worker:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        partitions: int | None = None,
        batch: int = BATCH,
        max_partitions: int | None = None,
        on_commit: Callable[[int, BatchWork], None] | None = None,
        engine_factory: Callable[[Plan | None], PartitionEngine] | None = None,
    ) -> None:
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.partitions = partitions or settings.CDP_PARTITIONS
        self.batch = batch
        self.max_partitions = max_partitions
        self.on_commit = on_commit  # test hook: called after each partition's checkpoint
        self.client = streams.redis_client()
        # Profiles and budgets are shared by the partitions this worker owns (one MGET of the
        # profiles per turn, budget units reserved a few at a time).
        self.profiles = MirrorProfiles()
        self.budget = RedisBudget(self.client)
        self._shared_profiles = engine_factory is None
        self.engine_factory = engine_factory or functools.partial(
            engine_build, profiles=self.profiles, budget=self.budget
        )
        # Blocking XREAD gets its own connection so it never holds one the loop needs.
        self.blocking = redis.Redis.from_url(settings.REDIS_URL)
        self.leases = Leases(self.client, self.worker_id)
        self.runs: dict[int, PartitionRun] = {}
        self.stopping = threading.Event()
        self._read = self.client.register_script(scripts.READ)
        self._commit = self.client.register_script(scripts.COMMIT)
        # The committer thread: PostgreSQL and the checkpoint of turn N while this thread
        # reads and evaluates turn N+1 (their waits overlap; see _commit_start).
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-commit")
        self._in_flight: tuple[PreparedCommit, Future[list[object]]] | None = None
        self._in_flight_facts: dict[str, dict[str, object]] = {}
        # The reader thread: the next turn's fenced read runs in Redis during evaluation.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine-read")
        self._prefetched: tuple[ReadRequest, Future[list]] | None = None
        self.plan: Plan | None = None
        self.plan_version = -1
        self.plan_errors: list[str] = []
        self._next_lease_tick = 0.0
        self._next_reload_poll = 0.0
        self._campaigns_version = -1
        self._next_metrics = 0.0
        self._counter_deltas: Counter[tuple[int, str]] = Counter()
        self.started = time.time()
        self.totals = Counter()

    # --- lifecycle ----------------------------------------------------------------------------

    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Runs until :meth:`stop` (SIGTERM) or ``until()`` is true; then checkpoints and
        releases its leases (every batch is checkpointed before the next is read, so a stop
        between turns loses nothing)."""
        logger.info("engine worker %s starting on %d partitions", self.worker_id, self.partitions)
        self._reload(force=True)
        try:
            while not self.stopping.is_set() and not (until and until()):
                try:
                    self.turn()
                except (redis.ConnectionError, redis.TimeoutError) as error:
                    logger.warning("Redis unavailable (%s); reconnecting", error)
                    self._drop_all()
                    time.sleep(0.5)
                except DatabaseError as error:
                    logger.warning("PostgreSQL unavailable (%s); retrying", error)
                    connection.close()
                    self._drop_all()
                    time.sleep(0.5)
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.stopping.set()

    def shutdown(self) -> None:
        try:
            self._commit_wait()  # the last turn's checkpoint before the leases go
        except Exception:
            logger.exception("the last turn could not be committed; the next owner redoes it")
        with contextlib.suppress(Exception):  # the committer thread's own connection
            self._committer.submit(_connection_close).result(timeout=10)
        self._committer.shutdown(wait=True)
        self._prefetch_abandon()
        self._reader.shutdown(wait=True)
        try:
            self.budget.release()
            self.leases.release()
            self.client.hdel(keys.heartbeats(), self.worker_id)
            self.client.hdel(keys.workers(), self.worker_id)
        except redis.RedisError:
            logger.warning("could not release leases on shutdown; they expire by themselves")
        self.runs.clear()
        connection.close()  # this thread's connection; the next use reconnects
        logger.info("engine worker %s stopped", self.worker_id)

    def _drop_all(self) -> None:
        """Forget in-memory state (it may be ahead of the checkpoint); partitions are restored
        from their checkpoints when their leases are (re)acquired."""
        self._commit_abandon()
        self._prefetch_abandon()
        self.runs.clear()
        self.leases.held.clear()
        self.budget.reserved = {}  # lost with the connection (a budget is never exceeded)
        self._next_lease_tick = 0.0

    # --- one turn -----------------------------------------------------------------------------

    def turn(self) -> None:
        self._commit_wait(poll=True)
        now = time.time()
        if now >= self._next_lease_tick:
            self._leases_tick(now)
            self._next_lease_tick = now + RENEW_S
        if self._campaigns_version != self.plan_version or now >= self._next_reload_poll:
            # the version comes with every read; the poll covers a worker owning nothing
            self._reload()
            self._next_reload_poll = now + reload.POLL_S
        works = self._read_and_evaluate(prefetch=True)
        now = time.time()
        for partition, run in self.runs.items():
            due = run.engine.next_due()
            if due is not None and due <= now:
                work = works.setdefault(partition, BatchWork(partition))
                try:
                    fired = run.engine.fire_due(now)
                except Exception:
                    logger.exception("timers of partition %d failed to fire", partition)
                    continue
                work.result = work.result.merged(fired)
        if works:
            if time.time() >= self._next_lease_tick:  # a long evaluation: renew first
                self._leases_tick(time.time())
                self._next_lease_tick = time.time() + RENEW_S
                works = {p: w for p, w in works.items() if p in self.runs}
            self._commit_start(works)
        else:
            self._wait()
        if time.time() >= self._next_metrics:
            self._metrics_publish()
            self._next_metrics = time.time() + METRICS_S
            # Keyed state is long-lived: a full collection walking all of it took 0.1 s per
            # 100k events' worth (the p99 tail). Objects that survived a second are frozen out
            # of the collector; the engine makes almost no cyclic garbage (measured: about
            # 360 objects per 100k events), and plain reference counting frees the rest.
            gc.freeze()

    def _read_request(self) -> ReadRequest | None:
        """KEYS and ARGV of the fenced read (``scripts.READ``) of every owned partition."""
        if not self.runs:
            return None
        request = ReadRequest(runs=dict(sorted(self.runs.items())))
        # A turn stays short (well under the lease TTL) however many partitions we own; it
        # takes what is there up to this many entries per partition (adaptive batches: a few
        # events per turn at moderate load, big batches when a backlog builds up).
        per_partition = max(50, self.batch // len(request.runs))
        request.args = [keys.GROUP, per_partition]
        for partition, run in request.runs.items():
            request.keys += [keys.lease(partition), streams.event_stream_key(partition)]
            request.args += [run.lease.token, keys.consumer(partition), run.read_id]
        request.keys.append(keys.campaigns_version())
        return request

    def _read_and_evaluate(self, *, prefetch: bool = False) -> dict[int, BatchWork]:
        """Reads a batch of every owned partition and evaluates it. ``prefetch`` (the loop):
        when the read found entries, the next read goes out at once, in the reader thread,
        and runs in Redis while this thread evaluates (a read that was issued for a partition
        since dropped or taken again is ignored: its entries stay pending for the owner)."""
        if self._prefetched is not None:
            request, future = self._prefetched
            self._prefetched = None
            replies = future.result()
        else:
            request = self._read_request()
            if request is None:
                return {}
            replies = self._read(keys=request.keys, args=request.args)
        self._campaigns_version = int(replies.pop())
        chosen: list[tuple[int, PartitionRun, list, bool]] = []
        for (partition, issued_for), reply in zip(request.runs.items(), replies, strict=True):
            run = self.runs.get(partition)
            if run is not issued_for:
                continue  # dropped (or restarted from its checkpoint) since the read went out
            if reply == 0:
                logger.warning("lease of partition %d lost; dropping it", partition)
                self._partition_drop(partition)
                continue
            pending = run.read_id != ">"
            if pending:
                if not reply:
                    run.read_id = ">"  # pending list done: new entries from now on
                    continue
                run.read_id = _text(reply[-1][0])
            if reply:
                chosen.append((partition, run, reply, pending))
        if prefetch and chosen:
            following = self._read_request()
            if following is not None:
                self._prefetched = (
                    following,
                    self._reader.submit(self._read, keys=following.keys, args=following.args),
                )
        works: dict[int, BatchWork] = {}
        decoded: list[tuple[int, PartitionRun, BatchWork, list[Event], list]] = []
        for partition, run, reply, pending in chosen:
            work, events, raws = self._decode(run, reply, pending=pending)
            work.partition = partition
            works[partition] = work
            if events:
                decoded.append((partition, run, work, events, raws))
        if not decoded:
            return works
        # One MGET of the profiles for the whole turn, not one per partition.
        shared = self._shared_profiles and self.plan is not None and self.plan.reads_profiles
        if shared:
            self.profiles.turn_load(
                (e.customer_id for item in decoded for e in item[3]),
                overlay=self._in_flight_facts,  # facts of the turn still being committed
            )
        try:
            now = time.time()
            for partition, run, work, events, raws in decoded:
                self._evaluate(partition, run, work, events, raws, now)
        finally:
            if shared:
                self.profiles.turn_end()
        return works

    def _decode(
        self, run: PartitionRun, entries: list, *, pending: bool
    ) -> tuple[BatchWork, list[Event], list[tuple[str, bytes]]]:
        """Stream entries -> events. Entries at or below the checkpoint (possible only while
        re-reading the pending list after a takeover) are acknowledged, not evaluated."""
        work = BatchWork(0)
        acks = work.acks
        checkpointed = _id_tuple(run.offset) if pending else None
        events: list[Event] = []
        raws: list[tuple[str, bytes]] = []
        loads = orjson.loads
        for raw_id, raw_fields in entries:
            acks.append(raw_id)
            if checkpointed is not None and _id_tuple(_text(raw_id)) <= checkpointed:
                continue  # committed by an earlier owner; only its XACK was missing
            if len(raw_fields) == 2 and raw_fields[0] == b"e":
                payload = raw_fields[1]
            else:
                payload = dict(zip(raw_fields[::2], raw_fields[1::2], strict=True)).get(b"e", b"")
            try:
                data = loads(payload)
                event = _event(data)
            except Exception as error:
                work.dead.append((_text(raw_id), payload, f"unreadable event: {error}", 1))
                continue
            events.append(event)
            raws.append((raw_id, payload))
        if entries:
            last = _text(entries[-1][0])
            work.offset = last
            run.last_id = last
        return work, events, raws

    def _evaluate(
        self,
        partition: int,
        run: PartitionRun,
        work: BatchWork,
        events: list[Event],
        raws: list[tuple[str, bytes]],
        now: float,
    ) -> None:
        work.partition = partition
        try:
            work.result = run.engine.process(events, now)
        except Exception:
            logger.warning("batch of partition %d failed; isolating the poison event", partition)
            self._evaluate_one_by_one(partition, run, events, raws, work, now)
        run.events += len(events)

    def _evaluate_one_by_one(
        self,
        partition: int,
        run: PartitionRun,
        events: list[Event],
        raws: list[tuple[str, bytes]],
        work: BatchWork,
        now: float,
    ) -> None:
        self._commit_wait()  # the turn in flight checkpointed: the state before this batch
        customers = sorted({event.customer_id for event in events})
        # The failed batch may have changed these customers' state half-way: back to the
        # checkpoint, which is exactly the state before this batch.
        blobs = self.client.hmget(keys.state(partition), customers)
        run.engine.restore(dict(zip(customers, blobs, strict=True)))
        work.state_customers.update(customers)
        result = BatchResult()
        for event, (entry_id, payload) in zip(events, raws, strict=True):
            for tries in range(1, MAX_TRIES + 1):
                before = run.engine.snapshot([event.customer_id])
                try:
                    result = result.merged(run.engine.process([event], now))
                    break
                except Exception as error:
                    run.engine.restore(before)
                    if tries == MAX_TRIES:
                        message = "".join(traceback.format_exception_only(error)).strip()
                        work.dead.append((entry_id, payload, message[:2000], tries))
                        logger.error(
                            "event %s of partition %d moved to the dead letters: %s",
                            event.event_id,
                            partition,
                            message,
                        )
        work.result = result

    # --- commit -------------------------------------------------------------------------------

    def _commit_works(self, works: dict[int, BatchWork]) -> None:
        """Commits a turn's works and waits for it (the pipelined loop uses
        :meth:`_commit_start`)."""
        self._commit_wait()
        prepared = self._commit_prepare(works)
        self._commit_apply(prepared, self._commit_execute(prepared))

    def _commit_start(self, works: dict[int, BatchWork]) -> None:
        """Hands a turn's works to the committer thread, which writes PostgreSQL and then the
        checkpoints while this thread reads and evaluates the next turn. At most one turn is in
        flight: the checkpoint of turn N+1 is written after that of turn N. The state snapshot
        is taken here, before the next turn changes the state."""
        prepared = self._commit_prepare(works)
        self._commit_wait()
        prepared.scripts = [
            item for item in prepared.scripts if self.runs.get(item[0]) is prepared.runs[item[0]]
        ]
        self._in_flight_facts = prepared.facts
        self._in_flight = (prepared, self._committer.submit(self._commit_execute, prepared))

    def _commit_wait(self, *, poll: bool = False) -> None:
        """Waits for the turn in flight (``poll``: only if it is done) and applies its result;
        re-raises its error (the loop then drops every partition and starts over)."""
        if self._in_flight is None:
            return
        prepared, future = self._in_flight
        if poll and not future.done():
            return
        self._in_flight = None
        self._in_flight_facts = {}
        self._commit_apply(prepared, future.result())

    def _commit_abandon(self) -> None:
        """After an error: let the turn in flight finish, ignore its outcome."""
        if self._in_flight is None:
            return
        _, future = self._in_flight
        self._in_flight = None
        self._in_flight_facts = {}
        try:
            future.result()
        except Exception:  # already being handled by the caller
            logger.debug("turn in flight failed too", exc_info=True)

    def _prefetch_abandon(self) -> None:
        """A read in flight is not used: what it read stays pending for the next owner (or
        for this worker, which re-reads the pending list when it takes a partition again)."""
        if self._prefetched is None:
            return
        _, future = self._prefetched
        self._prefetched = None
        try:
            future.result()
        except Exception:
            logger.debug("read in flight failed", exc_info=True)

    def _commit_prepare(self, works: dict[int, BatchWork]) -> PreparedCommit:
        prepared = PreparedCommit(works=works)
        for work in works.values():
            prepared.decisions.extend(work.result.decisions)
            prepared.conversions.extend(work.result.conversions)
            for update in work.result.profile_updates:
                prepared.facts.setdefault(update.customer_id, {}).update(update.facts)
        for partition, work in works.items():
            run = self.runs.get(partition)
            if run is None:
                continue
            keys_, args = self._commit_script(run, work)
            prepared.scripts.append((partition, keys_, args))
            prepared.runs[partition] = run
        return prepared

    def _commit_execute(self, prepared: PreparedCommit) -> list[object]:
        """PostgreSQL first (one transaction), then every partition's checkpoint (one Redis
        pipeline). Runs in the committer thread (or inline from :meth:`_commit_works`)."""
        try:
            store.decisions_write(
                decisions=prepared.decisions,
                conversions=prepared.conversions,
                facts=prepared.facts,
            )
        except DatabaseError:
            connection.close()  # this thread's connection; the next turn reconnects
            raise
        if not prepared.scripts:
            return []
        for attempt in (1, 2):
            # EVALSHA straight into the pipeline: redis-py's Script objects would add a
            # SCRIPT EXISTS round trip to every pipeline.
            pipe = self.client.pipeline(transaction=False)
            for _, keys_, args in prepared.scripts:
                pipe.evalsha(self._commit.sha, len(keys_), *keys_, *args)
            try:
                return pipe.execute()
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                self.client.script_load(scripts.COMMIT)  # Redis restarted: scripts are gone
        raise AssertionError("unreachable")

    def _commit_apply(self, prepared: PreparedCommit, results: list[object]) -> None:
        works = prepared.works
        for (partition, _, _), ok in zip(prepared.scripts, results, strict=True):
            work = works[partition]
            run = self.runs.get(partition)
            if run is not prepared.runs[partition]:
                continue  # dropped (and maybe taken again from its checkpoint) meanwhile
            if not int(ok):  # type: ignore[call-overload]  # an int reply
                logger.warning("checkpoint of partition %d fenced off; dropping it", partition)
                self._partition_drop(partition)
                continue
            if work.offset:
                run.offset = work.offset
            run.decisions += len(work.result.decisions)
            run.dead += len(work.dead)
            for decision in work.result.decisions:
                self._counter_deltas[(decision.campaign_id, decision.outcome)] += 1
            if self.on_commit is not None:
                self.on_commit(partition, work)
        self.totals["decisions"] += len(prepared.decisions)

    def _commit_script(self, run: PartitionRun, work: BatchWork) -> tuple[list[str], list[object]]:
        """KEYS and ARGV of the partition's checkpoint script (``scripts.COMMIT``)."""
        partition = work.partition
        customers = set(work.result.dirty_customers) | work.state_customers
        snapshot = run.engine.snapshot(sorted(customers)) if customers else {}
        sets = [(c, blob) for c, blob in snapshot.items() if blob is not None]
        deletes = [c for c, blob in snapshot.items() if blob is None]
        counter_keys: list[str] = []
        counter_index: dict[str, int] = {}
        counter_items: list[tuple[int, str, int, int]] = []

        def count(key: str, field_: str, amount: int, ttl: int) -> None:
            index = counter_index.get(key)
            if index is None:
                index = counter_index[key] = len(counter_keys) + 1
                counter_keys.append(key)
            counter_items.append((index, field_, amount, ttl))

        tallies: Counter[tuple[str, str, int | None]] = Counter()
        for decision in work.result.decisions:
            minute = int(decision.occurred_at // 60)
            fields = ["triggered", decision.outcome]
            if decision.outcome == "suppressed":
                fields.append(f"suppressed:{decision.suppression_reason or 'other'}")
            for field_ in fields:
                tallies[(str(decision.campaign_id), field_, None)] += 1
                tallies[(str(decision.campaign_id), field_, minute)] += 1
        for (campaign, field_, minute), amount in sorted(
            tallies.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
        ):
            if minute is None:
                count(keys.counters(int(campaign)), field_, amount, 0)
            else:
                count(
                    keys.counters(int(campaign), minute), field_, amount, keys.COUNTER_MINUTE_TTL_S
                )

        args: list[object] = [run.lease.token, work.offset, keys.GROUP, len(sets)]
        for customer, blob in sets:
            args += [customer, blob]
        args.append(len(deletes))
        args += deletes
        args.append(len(work.acks))
        args += work.acks
        args.append(len(work.result.decisions))
        for decision in work.result.decisions:
            args += [
                decision.decision_id,
                decision.campaign_id,
                decision.outcome,
                decision.customer_id,
            ]
        args.append(len(work.dead))
        for entry_id, payload, error, tries in work.dead:
            args += [entry_id, payload, error, tries]
        args.append(len(work.result.emitted_events))
        for event in work.result.emitted_events:
            args.append(orjson.dumps({**event.to_dict(), "derived": True}, default=str))
        args.append(len(counter_items))
        for item in counter_items:
            args += list(item)
        keys_ = [
            keys.lease(partition),
            keys.offset(partition),
            keys.state(partition),
            streams.event_stream_key(partition),
            keys.decisions(),
            keys.dead_letters(),
            keys.derived_events(),
            *counter_keys,
        ]
        return keys_, args

    # --- waiting ------------------------------------------------------------------------------

    def _wait(self) -> None:
        now = time.time()
        timeout = TICK_S
        for run in self.runs.values():
            due = run.engine.next_due()
            if due is not None:
                timeout = min(timeout, max(0.0, due - now))
        timeout = min(timeout, max(0.0, self._next_lease_tick - now))
        if not self.runs:
            self.stopping.wait(timeout or 0.01)
            return
        if timeout <= 0.001:
            return
        # Plain XREAD consumes nothing: it only wakes us when an entry newer than what we read
        # arrives. A partition still re-reading its pending list never sleeps here.
        if any(run.read_id != ">" for run in self.runs.values()):
            return
        streams_ = {
            streams.event_stream_key(p): run.last_id for p, run in sorted(self.runs.items())
        }
        self.blocking.xread(streams_, count=1, block=max(1, int(timeout * 1000)))

    # --- leases -------------------------------------------------------------------------------

    def _leases_tick(self, now: float) -> None:
        for partition in self.leases.renew():
            logger.warning("lease of partition %d expired; dropping it", partition)
            self._partition_drop(partition)
        self.client.hset(keys.heartbeats(), self.worker_id, f"{now:.3f}")
        beats = self.client.hgetall(keys.heartbeats())
        alive = sum(1 for beat in beats.values() if now - float(beat) < HEARTBEAT_FRESH_S)
        share = math.ceil(self.partitions / max(1, alive))
        if self.max_partitions is not None:
            share = min(share, self.max_partitions)
        owned = sorted(self.runs)
        if len(owned) > share:
            surplus = owned[share:]
            logger.info("giving up partitions %s to other workers", surplus)
            self._commit_wait()  # their last turn checkpointed before the lease goes
            self.leases.release(surplus)
            for partition in surplus:
                self.runs.pop(partition, None)
            return
        if len(owned) >= share:
            return
        owners = self.leases.owners(self.partitions)
        # Start at a worker-specific point so workers starting together do not all grab 0..n.
        start = (
            uuid.UUID(int=uuid.uuid5(uuid.NAMESPACE_OID, self.worker_id).int).int % self.partitions
        )
        candidates = [(start + i) % self.partitions for i in range(self.partitions)]
        for partition in candidates:
            if len(self.runs) >= share:
                break
            if partition in self.runs:
                continue
            if partition in owners and owners[partition] != self.worker_id:
                continue
            lease = self.leases.acquire(partition)
            if lease is not None:
                self._partition_start(partition, lease)

    def _partition_start(self, partition: int, lease: Lease) -> None:
        """Restore the partition from its checkpoint: state of every customer, stream offset;
        the pending list (what the last owner read and did not commit) is read first."""
        offset = self.client.get(keys.offset(partition))
        engine = self.engine_factory(self.plan)
        blobs: dict[str, bytes] = {}
        for customer, blob in self.client.hscan_iter(keys.state(partition), count=2000):
            blobs[_text(customer)] = blob
        engine.restore(blobs)
        offset_text = _text(offset) if offset else "0-0"
        self.runs[partition] = PartitionRun(
            lease=lease, engine=engine, offset=offset_text, read_id="0", last_id=offset_text
        )
        logger.info(
            "partition %d taken (epoch %d, %d customers, offset %s)",
            partition,
            lease.epoch,
            len(blobs),
            offset_text,
        )

    def _partition_drop(self, partition: int) -> None:
        self.runs.pop(partition, None)
        self.leases.held.pop(partition, None)

    # --- hot reload ---------------------------------------------------------------------------

    def _reload(self, *, force: bool = False) -> None:
        version = reload.campaigns_version_get()
        self._campaigns_version = version
        if version == self.plan_version and not force:
            return
        sources = reload.live_sources_load()
        plan, errors = plan_build(sources, reload.live_offers_load())
        self.plan = plan
        self.plan_errors = errors
        self.budget.release()  # a budget may have changed with the campaign's new version
        self.plan_version = version
        for run in self.runs.values():
            run.engine.plan_set(plan)
        self._next_metrics = 0.0  # say at once (engine:workers) which plan this worker runs
        logger.info("engine plan: %d live campaigns (campaigns version %d)", len(sources), version)
        if errors:
            logger.error("campaigns left out of the plan: %s", "; ".join(errors))

    # --- health -------------------------------------------------------------------------------

    def _metrics_publish(self) -> None:
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        partitions = sorted(self.runs)
        for partition in partitions:
            pipe.xinfo_groups(streams.event_stream_key(partition))
        try:
            infos = pipe.execute(raise_on_error=False)
        except redis.RedisError:
            infos = [[] for _ in partitions]
        figures: dict[int, dict[str, object]] = {}
        for partition, groups in zip(partitions, infos, strict=True):
            run = self.runs[partition]
            lag = None
            if isinstance(groups, list):
                for group in groups:
                    if _text(group.get("name", b"")) == keys.GROUP:
                        lag = streams.group_lag(
                            self.client, streams.event_stream_key(partition), group
                        )
            run.rate_window.append((now, run.events, run.decisions))
            first = run.rate_window[0]
            span = now - first[0]
            events_per_s = (run.events - first[1]) / span if span > 0 else 0.0
            decisions_per_s = (run.decisions - first[2]) / span if span > 0 else 0.0
            figures[partition] = {
                "worker": self.worker_id,
                "epoch": run.lease.epoch,
                "offset": run.offset,
                "lag": lag,
                "events": run.events,
                "decisions": run.decisions,
                "events_per_s": round(events_per_s, 1),
                "decisions_per_s": round(decisions_per_s, 1),
                "timers_pending": run.engine.timers_pending(),
                "dead_letters": run.dead,
                "customers": run.engine.customers(),
                "at": round(now, 3),
            }
        pipe = self.client.pipeline(transaction=False)
        for partition, figure in figures.items():
            pipe.hset(keys.partitions(), str(partition), orjson.dumps(figure))
        pipe.hset(
            keys.workers(),
            self.worker_id,
            orjson.dumps(
                {
                    "partitions": partitions,
                    "plan_version": self.plan_version,
                    "plan_errors": self.plan_errors,
                    "started": round(self.started, 3),
                    "at": round(now, 3),
                }
            ),
        )
        pipe.execute()
        self._counters_push()

    def _counters_push(self) -> None:
        """Live dashboards: best effort over the channel layer (at-most-once by design)."""
        if not self._counter_deltas:
            return
        deltas: dict[str, dict[str, int]] = {}
        for (campaign, outcome), amount in self._counter_deltas.items():
            deltas.setdefault(str(campaign), {})[outcome] = amount
        self._counter_deltas.clear()
        threading.Thread(target=_group_send, args=(deltas,), daemon=True).start()


def _connection_close() -> None:
    connection.close()  # looked up here: the calling thread's connection


def _group_send(deltas: dict[str, dict[str, int]]) -> None:
    try:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(
            "campaigns.counters", {"type": "campaigns.counters", "deltas": deltas}
        )
    except Exception:  # a live UI push never matters more than the engine
        logger.debug("channel layer push failed", exc_info=True)


def decisions_of(works: Iterable[BatchWork]) -> list[Decision]:
    return [decision for work in works for decision in work.result.decisions]
