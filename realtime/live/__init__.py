"""The live driver: the engine core (``realtime.engine``) run on the Redis event streams.

``manage.py run_engine`` starts one :class:`~realtime.live.worker.Worker`. Several workers, on one
or more machines, share the ``settings.CDP_PARTITIONS`` partitions of the event stream:

Ownership (``leases.py``)
    A partition is owned through a lease in Redis (``engine:lease:{p}`` = ``worker|epoch``, a TTL
    of a few seconds, renewed every ``RENEW_S``). Every acquisition increments the partition's
    epoch (``engine:epoch:{p}``), the fencing token. Reads *and* commits are Lua scripts that first
    compare the lease with the caller's token, so a worker that was paused past its lease can
    neither take entries from the stream nor write over the new owner's checkpoint. Workers aim at
    a fair share (ceil(P / live workers)) and give up surplus partitions at a batch boundary; a
    dead worker's leases expire and the others take its partitions over within ``LEASE_TTL_S``.

Reading (``scripts.READ``)
    ``XREADGROUP`` in the consumer group ``engine``, one consumer per *partition*
    (``partition-{p}``), so the group's pending list of a partition is exactly what its last owner
    read and did not commit. A new owner first re-reads that pending list (id ``0``), skipping what
    its checkpoint already covers, then new entries (``>``). When idle a worker blocks in plain
    ``XREAD`` (which consumes nothing) until an entry arrives or a timer is due. One read covers
    every owned partition and takes what is there up to ``BATCH`` entries (adaptive batches:
    a few events per turn at moderate load, thousands under a backlog). While a turn is
    evaluated, the next read already runs in Redis (a reader thread); a read issued for a
    partition dropped meanwhile is ignored, its entries stay pending for the owner.

Checkpoint (``scripts.COMMIT``), once per turn and partition, after the turn's decisions are
    committed in PostgreSQL (``store.py``: one transaction per turn with the decisions,
    conversions and profile facts, ``INSERT ... ON CONFLICT DO NOTHING`` from a ``COPY`` or, for
    a few rows, from ``unnest``). Both run in a committer thread while the loop reads and
    evaluates the next turn; at most one turn is in flight, so checkpoints stay in order, and
    the state snapshot is taken before the next turn changes the state. Each checkpoint is
    one Lua script that checks the lease epoch, then writes the changed customers' state
    (``engine:state:{p}`` hash), the stream offset (``engine:offset:{p}``), XACKs the batch,
    appends the batch's decisions to the ``decisions`` stream, dead letters to ``events:dead``,
    emitted (derived) events to ``events:derived`` and adds to the live counters. Because all of it
    is one atomic step that only the lease holder can take, the decisions stream and the counters
    see every decision exactly once even though the batch itself may be evaluated twice (a crash
    between PostgreSQL and the checkpoint): PostgreSQL dedupes by the deterministic decision id.

Derived events: an event emitted by a rule was already evaluated in the same pass by the core
    (forward chaining). It is *not* appended to the customer's partition stream (it would be
    evaluated a second time); it goes to ``events:derived`` (field ``e``, the usual event JSON
    plus ``"derived": true``) for the archive to store next to the events that caused it.

Timers (absence/unless, delay, quiet-hours deferral) live in the customers' keyed state, so they
    are checkpointed with it; the worker asks the core for due timers on every loop turn (at
    least every ``TICK_S``), so they fire within a second of falling due, after a takeover too.

Hot reload (``reload.py``): campaign services call :func:`reload.campaigns_changed_notify` on
    commit; it bumps ``campaigns:version`` and publishes on ``campaigns:changed``. The counter
    comes back with every read (and is polled every 200 ms by a worker owning nothing); on a
    change the worker reloads the published versions from PostgreSQL, swaps the plan (the state
    of campaigns whose version did not change is kept) and says so in ``engine:workers`` at once.

Profiles and budgets: one MGET of the profile mirror per turn for all owned partitions (facts
    set by the turn still being committed are overlaid). Budget units are reserved from Redis a
    few at a time (``readers.RedisBudget``): a budget is never exceeded; a worker killed with
    ``kill -9`` can leave up to 15 reserved units unissued per campaign.

Poison events: when a batch fails to evaluate, the turn in flight is checkpointed, the batch's
    customers' state is restored from the checkpoint and the batch is evaluated one event at a
    time; an event that fails ``MAX_TRIES`` times goes to ``events:dead`` with its error and the
    partition moves on.

Performance notes (``python -m bench engine [--quick]``, see bench/engine.py; 2 shared cores:
    uvicorn + one ``run_engine`` + load generator + PostgreSQL + Redis; other engineers' jobs
    make single runs vary by 2x, so figures are quoted from quiet runs, before vs after
    alternating). Headline workload: scenarios 1, 2, 3, 7, 8 + 300 filler campaigns over a
    bank-app event mix, 3.5-4 % of events decide; latency over the decisions of the events.

    - The issue's 2,710 events/s and 3.3 s / 4.9 s p50/p99 came from a benchmark where every
      event decided (PostgreSQL-bound) and from ``campaigns_decision`` bloat: autovacuum is off
      on this PostgreSQL and each run's deleted decisions stayed as dead rows (563k seen); the
      bench now VACUUMs before and after. Old driver, new workload, quiet: 31,300 events/s,
      p50 5.7 ms, p99 22 ms, all-decide 12,500 decisions/s, publish to live 804 ms.
    - Profiled (cProfile of the loop in-process, py-spy on ``run_engine`` under load with
      ``BENCH_ENGINE_PROFILE=dir``): at 5,000 events/s the worker waited on sequential round
      trips 95 % of the time: a profile MGET per partition per turn (16 per turn), a Redis
      round trip per budgeted offer, two PostgreSQL transactions per turn (decisions, then
      facts) with ~4 round trips each, a ``SCRIPT EXISTS`` added by redis-py to every pipelined
      checkpoint, the GET of the campaigns version, then the next read; full garbage
      collections over the keyed state took 80-150 ms each (the p99 tail). The core was
      30-40 % of the worker's CPU, so it was left alone.
    - Changes: one MGET per turn; budget units reserved 16 at a time; one transaction per turn
      (facts included, ``unnest`` below 200 rows); EVALSHA straight into the pipeline; version
      returned by the read; ``gc.freeze()`` every second; the commit (PostgreSQL + checkpoint)
      in a committer thread and the next read in a reader thread, overlapping the evaluation;
      orjson and a lean decode path. Worker CPU per event, paired runs: 19.0 -> 16.2 us (quiet),
      26.0 / 25.4 -> 22.3 / 24.6 us (loaded).
    - After (quick, same conditions): 39,900 events/s, p50 5.2 ms, p99 36 ms (14 ms in other
      quiet runs), all-decide 16,900 decisions/s, publish to live 325 ms, takeover 1.75 s. Full
      run (300k events): 35,500 events/s, p50 5.8 ms, p99 14.9 ms, all-decide 18,800
      decisions/s, publish 364 ms, takeover 1.74 s. Under load from other jobs: 20-27k
      events/s, p99 60-500 ms (PostgreSQL and CPU shared).
    - Two workers on two cores (measured before the reader thread and the VACUUM) were worse
      than one in 2 of 3 paired runs (21,968 vs 30,482 events/s, p99 155 vs 28 ms; 14,342 vs
      19,541) and better in one taken under heavy outside load (11,369 vs 7,984): the second
      process competes with uvicorn, Redis and PostgreSQL for the same cores, and the threads
      already overlap the waits. One worker is the default here; add workers with cores.
    - The worst case is PostgreSQL-bound: ~45 us of server time per decision row (five indexes,
      a deferred foreign key checked per row at commit).
"""
