"""PostgreSQL side of a batch: decisions, conversions and profile facts, in bulk, idempotently.

One transaction per loop turn (one commit, one fsync): decisions and conversions go through
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into ``campaigns_decision`` /
``campaigns_conversion``, from a ``COPY`` into a temporary table for big batches and from
``unnest`` of arrays (one statement, one round trip) for the few rows of a turn at moderate
load; profile facts set by rules are written in the same transaction. A replayed batch (after a
crash before its checkpoint) writes nothing twice: decision ids are deterministic and
conversions are unique per (decision, event). Rows of a campaign deleted meanwhile are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import orjson
from django.db import connection, transaction

from realtime.engine.model import Conversion, Decision, action_to_dict

_DECISION_COLUMNS = (
    "id, campaign_id, version, customer_id, trigger_event_id, outcome, suppression_reason, "
    "variant, actions, explanation, occurred_at, decided_at"
)
_CONVERSION_COLUMNS = "decision_id, campaign_id, customer_id, event_id, revenue, occurred_at"


def _moment(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


#: Up to this many rows a turn's decisions go in one ``INSERT ... SELECT FROM unnest(...)``
#: (one round trip); above it, through ``COPY`` (cheaper per row, two more round trips).
COPY_FROM = 200

_DECISION_ARRAYS = (
    "unnest(%s::uuid[], %s::bigint[], %s::int[], %s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::text[], %s::jsonb[], %s::jsonb[], %s::timestamptz[]) AS i("
    + _DECISION_COLUMNS.replace(", decided_at", "")
    + ")"
)
_DECISION_INSERT = (
    f"INSERT INTO campaigns_decision ({_DECISION_COLUMNS}) "
    # decided_at: the moment of the insert (clock_timestamp), i.e. just before commit
    f"SELECT {_DECISION_COLUMNS.replace('decided_at', 'clock_timestamp()')} FROM {{source}} "
    "WHERE EXISTS (SELECT 1 FROM campaigns_campaign c WHERE c.id = i.campaign_id) "
    "ON CONFLICT (id) DO NOTHING"
)


def _decision_row(decision: Decision) -> tuple:
    return (
        decision.decision_id,
        decision.campaign_id,
        decision.version,
        decision.customer_id,
        decision.trigger_event_id,
        decision.outcome,
        decision.suppression_reason or "",
        decision.variant or "",
        orjson.dumps([action_to_dict(action) for action in decision.actions]).decode(),
        orjson.dumps([item.to_dict() for item in decision.explanation], default=str).decode(),
        _moment(decision.occurred_at),
    )


def decisions_write(
    *,
    decisions: Sequence[Decision],
    conversions: Sequence[Conversion] = (),
    facts: dict[str, dict[str, object]] | None = None,
) -> None:
    """Commits a turn's decisions, conversions and profile facts in one transaction."""
    if not decisions and not conversions and not facts:
        return
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor: COPY is not in Django's API
        if decisions and len(decisions) <= COPY_FROM:
            rows = [_decision_row(decision) for decision in decisions]
            cursor.execute(
                _DECISION_INSERT.format(source=_DECISION_ARRAYS),
                [list(c) for c in zip(*rows, strict=True)],
            )
        elif decisions:
            now = dt.datetime.now(tz=dt.UTC)
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS live_decision_in "
                "(LIKE campaigns_decision INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY live_decision_in ({_DECISION_COLUMNS}) FROM STDIN") as copy:
                for decision in decisions:
                    copy.write_row((*_decision_row(decision), now))
            cursor.execute(_DECISION_INSERT.format(source="live_decision_in i"))
        if conversions:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS live_conversion_in (decision_id uuid, "
                "campaign_id bigint, customer_id text, event_id text, revenue numeric, "
                "occurred_at timestamptz) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY live_conversion_in ({_CONVERSION_COLUMNS}) FROM STDIN") as copy:
                for conversion in conversions:
                    copy.write_row(
                        (
                            conversion.decision_id,
                            conversion.campaign_id,
                            conversion.customer_id,
                            conversion.event_id,
                            None if conversion.revenue is None else round(conversion.revenue, 2),
                            _moment(conversion.ts),
                        )
                    )
            cursor.execute(
                f"INSERT INTO campaigns_conversion ({_CONVERSION_COLUMNS}) "
                f"SELECT {_CONVERSION_COLUMNS} FROM live_conversion_in i "
                "WHERE EXISTS (SELECT 1 FROM campaigns_decision d WHERE d.id = i.decision_id) "
                "ON CONFLICT (decision_id, event_id) DO NOTHING"
            )
        if facts:
            # the profile service joins this transaction (one commit for the whole turn)
            from realtime.live.readers import profile_facts_write

            profile_facts_write(facts)
