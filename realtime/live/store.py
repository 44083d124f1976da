"""PostgreSQL side of a batch: decisions and conversions, in bulk and idempotently.

One transaction per batch: ``COPY`` into temporary tables, then ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING`` into ``campaigns_decision`` / ``campaigns_conversion``. A replayed batch
(after a crash before its checkpoint) writes nothing twice: decision ids are deterministic and
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


def decisions_write(
    *, decisions: Sequence[Decision], conversions: Sequence[Conversion] = ()
) -> None:
    """Commits the batch's decisions and conversions (one transaction, two COPYs at most)."""
    if not decisions and not conversions:
        return
    now = dt.datetime.now(tz=dt.UTC)
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor: COPY is not in Django's API
        if decisions:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS live_decision_in "
                "(LIKE campaigns_decision INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY live_decision_in ({_DECISION_COLUMNS}) FROM STDIN") as copy:
                for decision in decisions:
                    copy.write_row(
                        (
                            decision.decision_id,
                            decision.campaign_id,
                            decision.version,
                            decision.customer_id,
                            decision.trigger_event_id,
                            decision.outcome,
                            decision.suppression_reason or "",
                            decision.variant or "",
                            orjson.dumps(
                                [action_to_dict(action) for action in decision.actions]
                            ).decode(),
                            orjson.dumps(
                                [item.to_dict() for item in decision.explanation],
                                default=str,
                            ).decode(),
                            _moment(decision.occurred_at),
                            now,
                        )
                    )
            # decided_at: the moment of the insert (clock_timestamp), i.e. just before commit
            cursor.execute(
                f"INSERT INTO campaigns_decision ({_DECISION_COLUMNS}) "
                f"SELECT {_DECISION_COLUMNS.replace('decided_at', 'clock_timestamp()')} "
                "FROM live_decision_in i "
                "WHERE EXISTS (SELECT 1 FROM campaigns_campaign c WHERE c.id = i.campaign_id) "
                "ON CONFLICT (id) DO NOTHING"
            )
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
