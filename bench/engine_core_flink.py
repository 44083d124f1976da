"""Workload (c) of ``python -m bench engine_core``: a per-customer sequence, our engine vs Flink.

The pattern: three views of savings products, then a card transaction over 100, within 10
minutes, per customer. Flink SQL expresses it with MATCH_RECOGNIZE::

    PATTERN (V1 X1*? V2 X2*? V3 X3*? C) WITHIN INTERVAL '10' MINUTE

and our engine with a trigger on the transaction and a ``sequence`` condition. The same events go
through both (Flink reads them from a CSV file, in local mode, parallelism 1) and the match counts
must agree. MATCH_RECOGNIZE skips past a match's last row; our engine judges every transaction,
so the generated traffic spaces a customer's transactions over 100 at least 10 minutes apart,
where both meanings coincide.

What MATCH_RECOGNIZE cannot express at all: "and then did NOT happen within T" (absence, our
``unless``), since a pattern can only match rows that exist.

This file also runs as the Flink job itself, inside ``bench/.flink-venv`` (apache-flink is a
benchmark-only dependency of about 850 MB, installed there on first use):
``bench/.flink-venv/bin/python bench/engine_core_flink.py --job EVENTS.csv``.
"""

from __future__ import annotations

import csv
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".flink-venv"
FLINK_VERSION = "2.3.0"
DAY_START = 1_765_119_600.0
SAVINGS = ("savings", "installment_savings", "deposit", "housing_subscription")
OTHER = ("card", "loan", "fund", "insurance")

_SAVINGS_VIEW = {
    "event": "product_view",
    "where": {"attr": "category", "op": "in", "value": list(SAVINGS)},
}
_BIG_PAYMENT = {"attr": "amount", "op": ">", "value": 100}
SEQUENCE_RULE: dict[str, object] = {
    "spec": 1,
    "name": "Savings views then a card payment",
    "trigger": {"event": "card_transaction", "where": _BIG_PAYMENT},
    "conditions": {
        "sequence": [
            _SAVINGS_VIEW,
            _SAVINGS_VIEW,
            _SAVINGS_VIEW,
            {"event": "card_transaction", "where": _BIG_PAYMENT},
        ],
        "within": "10m",
    },
    "actions": [{"offer": "savings-card-bundle", "channel": "push"}],
}

_VIEW = (
    "event_type = 'product_view' AND category IN "
    "('savings', 'installment_savings', 'deposit', 'housing_subscription')"
)
# Pattern variables must be unique in Flink, hence V1..V3 (same definition) and X1..X3 (any row,
# reluctant: the fewest rows between the views).
MATCH_SQL = f"""
SELECT customer_id, matched_at FROM events
MATCH_RECOGNIZE (
    PARTITION BY customer_id
    ORDER BY ts
    MEASURES C.ts_ms AS matched_at
    ONE ROW PER MATCH
    AFTER MATCH SKIP PAST LAST ROW
    PATTERN (V1 X1*? V2 X2*? V3 X3*? C) WITHIN INTERVAL '10' MINUTE
    DEFINE
        V1 AS {_VIEW},
        V2 AS {_VIEW},
        V3 AS {_VIEW},
        C AS event_type = 'card_transaction' AND amount > 100
)
"""


def say(message: str) -> None:
    print(message, flush=True)


def sequence_events(count: int, seed: int = 21) -> list[tuple[str, str, str, float, float]]:
    """(customer, type, category, amount, ts) sorted by time: sessions over one day."""
    rnd = random.Random(seed)
    customers = max(1, count // 20)
    last_big: dict[str, float] = {}
    rows: list[tuple[str, str, str, float, float]] = []
    while len(rows) < count:
        customer = f"c{rnd.randrange(customers)}"
        ts = DAY_START + rnd.uniform(0, 86_400.0)
        for _ in range(rnd.randint(3, 15)):
            roll = rnd.random()
            category = ""
            amount = 0.0
            if roll < 0.35:
                kind = "product_view"
                category = rnd.choice(SAVINGS) if rnd.random() < 0.6 else rnd.choice(OTHER)
            elif roll < 0.55:
                kind = "card_transaction"
                amount = float(rnd.randint(1, 200))
                if amount > 100:
                    if ts - last_big.get(customer, -1e18) < 600:
                        amount = float(rnd.randint(1, 100))  # keep big payments 10 min apart
                    else:
                        last_big[customer] = ts
            else:
                kind = rnd.choice(["screen_view", "app_open", "search", "transfer"])
            rows.append((customer, kind, category, amount, round(ts, 3)))
            ts += rnd.uniform(5, 90)
            if len(rows) == count:
                break
    rows.sort(key=lambda row: row[4])
    # a customer's big payments must stay 10 minutes apart after sorting too (sessions overlap)
    spaced: list[tuple[str, str, str, float, float]] = []
    previous: dict[str, float] = {}
    for customer, kind, category, amount, ts in rows:
        if amount > 100:
            if ts - previous.get(customer, -1e18) < 600:
                amount = 100.0
            else:
                previous[customer] = ts
        spaced.append((customer, kind, category, amount, ts))
    return spaced


def run_ours(rows: list[tuple[str, str, str, float, float]]) -> tuple[float, int]:
    """(events/s per core, matches): decisions of the sequence rule through ``Engine.process``."""
    from realtime.engine import Engine, Event, PlanSettings, RuleSource, build_plan

    plan = build_plan([RuleSource(1, 1, SEQUENCE_RULE)], settings=PlanSettings(daily_offer_cap=0))
    events = [
        Event(
            f"s{n}",
            kind,
            customer,
            ts,
            {"category": category}
            if kind == "product_view"
            else {"amount": amount}
            if kind == "card_transaction"
            else {},
        )
        for n, (customer, kind, category, amount, ts) in enumerate(rows)
    ]
    engine = Engine(plan)
    matches = 0
    busy = 0.0
    gc.collect()
    gc.freeze()  # the pre-built input is the benchmark's heap, not the engine's
    for start in range(0, len(events), 2000):
        batch = events[start : start + 2000]
        started = time.thread_time()
        result = engine.process(batch, now=batch[-1].ts)
        busy += time.thread_time() - started
        matches += len(result.decisions)
    gc.unfreeze()
    return len(events) / busy, matches


def ensure_flink() -> Path:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import pyflink"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    say(f"  installing apache-flink=={FLINK_VERSION} into {VENV} (about 850 MB, once)")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"apache-flink=={FLINK_VERSION}"], check=True
    )
    return python


def run_flink(rows: list[tuple[str, str, str, float, float]]) -> dict[str, float]:
    python = ensure_flink()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            for customer, kind, category, amount, ts in rows:
                writer.writerow([customer, kind, category, amount, int(ts * 1000)])
        started = time.perf_counter()
        completed = subprocess.run(
            [str(python), str(Path(__file__).resolve()), "--job", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"the Flink job failed:\n{completed.stderr[-4000:]}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    report["wall_with_jvm_s"] = wall
    return report


def flink_job(path: str) -> None:  # pragma: no cover - runs inside the Flink virtualenv
    started = time.perf_counter()
    from pyflink.table import EnvironmentSettings, TableEnvironment

    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set("parallelism.default", "1")
    env.execute_sql(f"""
        CREATE TABLE events (
            customer_id STRING,
            event_type STRING,
            category STRING,
            amount DOUBLE,
            ts_ms BIGINT,
            ts AS TO_TIMESTAMP_LTZ(ts_ms, 3),
            WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv')
    """)
    ready = time.perf_counter()
    matches = 0
    with env.execute_sql(MATCH_SQL).collect() as results:
        for _ in results:
            matches += 1
    done = time.perf_counter()
    print(json.dumps({"matches": matches, "job_s": done - ready, "with_start_s": done - started}))


def run(*, quick: bool) -> dict[str, Any]:
    count = 100_000 if quick else 1_000_000
    say(f"(c) sequence pattern, {count:,} events: our engine vs Flink MATCH_RECOGNIZE")
    rows = sequence_events(count)
    ours, our_matches = run_ours(rows)
    say(f"    ours: {ours:,.0f} events/s, {our_matches:,} matches")
    report = run_flink(rows)
    flink_rate = count / report["with_start_s"]
    say(
        f"    Flink: {flink_rate:,.0f} events/s including job start "
        f"({report['with_start_s']:.1f}s; the job alone {report['job_s']:.1f}s), "
        f"{report['matches']:,} matches"
    )
    if report["matches"] != our_matches:
        raise AssertionError(f"match counts differ: ours {our_matches}, Flink {report['matches']}")
    return {
        "figures": {
            "sequence_engine_events_per_s": round(ours),
            "flink_events_per_s": round(flink_rate),
            "flink_job_only_events_per_s": round(count / report["job_s"]),
            "engine_vs_flink": round(ours / flink_rate, 1),
            "sequence_matches": our_matches,
        },
        "units": {
            "sequence_engine_events_per_s": "events/s",
            "flink_events_per_s": "events/s",
            "flink_job_only_events_per_s": "events/s",
            "engine_vs_flink": "x",
        },
        "goals": {"engine_vs_flink": ">= 5"},
    }


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) == 3 and sys.argv[1] == "--job":
        flink_job(sys.argv[2])
    else:
        print(run(quick="--quick" in sys.argv))
