"""Writes of the dashboards: the incremental rollup, its rebuild, and the live nudge.

``rollup_refresh`` runs every few seconds (Celery beat, ``dashboard_rollup_task``). In one
transaction, under an advisory lock so two runs never interleave, it aggregates what arrived
since the watermarks into a temporary table of per-minute deltas and adds them to the minute,
hour and local-day rows of ``CampaignRollup`` with ``INSERT ... ON CONFLICT DO UPDATE``:

* decisions inserted (``decided_at``) in ``(watermark, now - lag]``;
* deliveries whose sent, delivered, clicked or failed time falls in the same kind of window
  (each transition is counted in the window its own time falls in, so a row that is sent in one
  run and clicked in a later one is counted once for each);
* conversions by id in ``(last_id, seen_id]``, where ``seen_id`` is the highest id the
  *previous* run saw: ids are handed out before their transaction commits, so reading one run
  behind lets slow transactions land first.

The lag (``CDP_DASHBOARD_ROLLUP_LAG_S``) plays the same part for the time windows. A row whose
transaction commits later than the lag is not lost for good: every hour the run also rebuilds
today and yesterday from the sources (``rollup_rebuild``), and ``manage.py dashboard_rollup
--rebuild --days N`` rebuilds any range (backfill).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.dashboards.models import RollupWatermark

logger = logging.getLogger(__name__)

#: pg_advisory_xact_lock key of the rollup (any constant unique to this purpose)
ROLLUP_LOCK = 0x64617368  # "dash"
RECONCILE_EVERY = dt.timedelta(hours=1)

COUNT_COLUMNS = (
    "triggered",
    "offered",
    "held_out",
    "suppressed",
    "sent",
    "sent_control",
    "delivered",
    "failed",
    "clicked",
    "converted_offer",
    "converted_control",
    "converted_flow",
    "coupons_issued",
)
MONEY_COLUMNS = ("revenue_offer", "revenue_control", "coupon_cost", "send_cost")
COLUMNS = COUNT_COLUMNS + MONEY_COLUMNS

_ROLLUP = "dashboards_campaignrollup"
_SUPPRESSION = "dashboards_suppressionrollup"


@dataclass
class RollupResult:
    decisions: int = 0
    conversions: int = 0
    delivery_transitions: int = 0
    buckets: int = 0
    campaigns: set[int] = field(default_factory=set)
    rebuilt_days: int = 0


def _minus_infinity() -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _channel_cost_sql() -> tuple[str, list[object]]:
    """``CASE v.channel WHEN 'sms' THEN 20 ... END``: the send cost of a delivery's channel."""
    costs: dict[str, float] = dict(getattr(settings, "CDP_CHANNEL_COST", {}) or {})
    if not costs:
        return "0", []
    parts = ["CASE v.channel"]
    params: list[object] = []
    for channel, cost in sorted(costs.items()):
        parts.append("WHEN %s THEN %s::numeric")
        params += [channel, str(cost)]
    parts.append("ELSE 0 END")
    return " ".join(parts), params


def _delta_table_create(cursor: object) -> None:
    columns = ", ".join(f"{name} numeric NOT NULL DEFAULT 0" for name in COLUMNS)
    cursor.execute(  # type: ignore[attr-defined]  # a DB-API cursor
        "CREATE TEMP TABLE IF NOT EXISTS dashboards_delta (campaign_id bigint, variant text, "
        f"bucket timestamptz, {columns}) ON COMMIT DELETE ROWS"
    )
    cursor.execute(  # type: ignore[attr-defined]
        "CREATE TEMP TABLE IF NOT EXISTS dashboards_suppression_delta (campaign_id bigint, "
        "bucket timestamptz, reason text, n bigint) ON COMMIT DELETE ROWS"
    )
    # Empty even when the caller's transaction is still open (ON COMMIT has not run yet).
    cursor.execute("TRUNCATE dashboards_delta, dashboards_suppression_delta")  # type: ignore[attr-defined]


def _decisions_delta(cursor: object, where: str, params: Sequence[object]) -> int:
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO dashboards_delta (campaign_id, variant, bucket, triggered, offered, "
        "held_out, suppressed) "
        "SELECT campaign_id, variant, date_trunc('minute', occurred_at), count(*), "
        "count(*) FILTER (WHERE outcome = 'offer'), count(*) FILTER (WHERE outcome = 'held_out'),"
        " count(*) FILTER (WHERE outcome = 'suppressed') "
        f"FROM campaigns_decision d WHERE {where} GROUP BY 1, 2, 3",
        params,
    )
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO dashboards_suppression_delta (campaign_id, bucket, reason, n) "
        "SELECT campaign_id, date_trunc('minute', occurred_at), "
        "COALESCE(NULLIF(suppression_reason, ''), 'other'), count(*) "
        f"FROM campaigns_decision d WHERE outcome = 'suppressed' AND {where} GROUP BY 1, 2, 3",
        params,
    )
    cursor.execute("SELECT COALESCE(sum(triggered), 0) FROM dashboards_delta")  # type: ignore[attr-defined]
    return int(cursor.fetchone()[0])  # type: ignore[attr-defined]


_FIRST_CONVERSION = (
    "NOT EXISTS (SELECT 1 FROM campaigns_conversion c2 "
    "WHERE c2.decision_id = c.decision_id AND c2.id < c.id)"
)


def _conversions_delta(cursor: object, where: str, params: Sequence[object]) -> int:
    """Cohort columns: in the decision's bucket; a decision converts once (its first row)."""
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO dashboards_delta (campaign_id, variant, bucket, converted_offer, "
        "converted_control, revenue_offer, revenue_control) "
        "SELECT d.campaign_id, d.variant, date_trunc('minute', d.occurred_at), "
        "count(*) FILTER (WHERE d.outcome = 'offer' AND c.is_first), "
        "count(*) FILTER (WHERE d.outcome = 'held_out' AND c.is_first), "
        "COALESCE(sum(c.revenue) FILTER (WHERE d.outcome = 'offer'), 0), "
        "COALESCE(sum(c.revenue) FILTER (WHERE d.outcome = 'held_out'), 0) "
        f"FROM (SELECT c.*, {_FIRST_CONVERSION} AS is_first FROM campaigns_conversion c) c "
        f"JOIN campaigns_decision d ON d.id = c.decision_id WHERE {where} GROUP BY 1, 2, 3",
        params,
    )
    return int(cursor.rowcount or 0)  # type: ignore[attr-defined]


def _conversions_flow_delta(cursor: object, where: str, params: Sequence[object]) -> None:
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO dashboards_delta (campaign_id, variant, bucket, converted_flow) "
        "SELECT d.campaign_id, d.variant, date_trunc('minute', c.occurred_at), count(*) "
        f"FROM campaigns_conversion c JOIN campaigns_decision d ON d.id = c.decision_id "
        f"WHERE d.outcome = 'offer' AND {_FIRST_CONVERSION} AND {where} GROUP BY 1, 2, 3",
        params,
    )


def _deliveries_delta(
    cursor: object,
    *,
    low: dt.datetime,
    high: dt.datetime,
    where: str,
    params: Sequence[object],
) -> None:
    """Transitions whose time is in ``(low, high]``, in the bucket of their decision."""
    cost_sql, cost_params = _channel_cost_sql()

    def within(column: str) -> str:
        return f"(v.{column} > %(low)s AND v.{column} <= %(high)s)"

    sent = within("sent_at")
    named = {"low": low, "high": high}
    # psycopg takes either positional or named parameters: inline the positional ones by name.
    extra = {f"p{index}": value for index, value in enumerate(params)}
    where_named = where
    for index in range(len(params)):
        where_named = where_named.replace("%s", f"%(p{index})s", 1)
    cost_named = cost_sql
    for index in range(len(cost_params)):
        cost_named = cost_named.replace("%s", f"%(c{index})s", 1)
    extra.update({f"c{index}": value for index, value in enumerate(cost_params)})
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO dashboards_delta (campaign_id, variant, bucket, sent, sent_control, "
        "delivered, failed, clicked, coupons_issued, coupon_cost, send_cost) "
        "SELECT d.campaign_id, d.variant, date_trunc('minute', d.occurred_at), "
        f"count(*) FILTER (WHERE {sent}), "
        f"count(*) FILTER (WHERE {sent} AND d.outcome = 'held_out'), "
        f"count(*) FILTER (WHERE {within('delivered_at')}), "
        f"count(*) FILTER (WHERE {within('failed_at')} AND v.status IN ('failed', 'dead')), "
        f"count(*) FILTER (WHERE {within('clicked_at')}), "
        f"count(*) FILTER (WHERE {sent} AND v.coupon_id IS NOT NULL), "
        f"COALESCE(sum(o.coupon_value) FILTER (WHERE {sent} AND v.coupon_id IS NOT NULL "
        "AND NOT o.is_percent), 0), "
        f"COALESCE(sum({cost_named}) FILTER (WHERE {sent}), 0) "
        "FROM campaigns_delivery v JOIN campaigns_decision d ON d.id = v.decision_id "
        "LEFT JOIN campaigns_offer o ON o.id = v.offer_id "
        f"WHERE v.kind <> 'none' AND {where_named} GROUP BY 1, 2, 3",
        {**named, **extra},
    )


def _deltas_apply(cursor: object, *, zone: str) -> int:
    """Adds the minute deltas to the minute, hour and local-day rows."""
    sums = ", ".join(f"sum({name})" for name in COLUMNS)
    names = ", ".join(COLUMNS)
    updates = ", ".join(f"{name} = r.{name} + EXCLUDED.{name}" for name in COLUMNS)
    grains = (
        ("m", "bucket"),
        ("h", "date_trunc('hour', bucket)"),
        ("d", "date_trunc('day', bucket, %(zone)s)"),
    )
    selects = " UNION ALL ".join(
        f"SELECT campaign_id, COALESCE(variant, ''), '{grain}', {expression}, {sums} "
        f"FROM dashboards_delta GROUP BY 1, 2, 4"
        for grain, expression in grains
    )
    cursor.execute(  # type: ignore[attr-defined]
        f"INSERT INTO {_ROLLUP} AS r (campaign_id, variant, grain, bucket, {names}) "
        f"SELECT * FROM ({selects}) AS deltas "
        f"WHERE EXISTS (SELECT 1 FROM campaigns_campaign c WHERE c.id = deltas.campaign_id) "
        f"ON CONFLICT (campaign_id, grain, bucket, variant) DO UPDATE SET {updates}",
        {"zone": zone},
    )
    buckets = int(cursor.rowcount or 0)  # type: ignore[attr-defined]
    suppression_selects = " UNION ALL ".join(
        f"SELECT campaign_id, '{grain}', {expression}, reason, sum(n) "
        f"FROM dashboards_suppression_delta GROUP BY 1, 3, 4"
        for grain, expression in grains
    )
    cursor.execute(  # type: ignore[attr-defined]
        f"INSERT INTO {_SUPPRESSION} AS r (campaign_id, grain, bucket, reason, count) "
        f"SELECT * FROM ({suppression_selects}) AS deltas "
        f"WHERE EXISTS (SELECT 1 FROM campaigns_campaign c WHERE c.id = deltas.campaign_id) "
        "ON CONFLICT (campaign_id, grain, bucket, reason) DO UPDATE SET count = r.count + "
        "EXCLUDED.count",
        {"zone": zone},
    )
    return buckets


def _campaigns_of_delta(cursor: object) -> set[int]:
    cursor.execute("SELECT DISTINCT campaign_id FROM dashboards_delta")  # type: ignore[attr-defined]
    return {int(row[0]) for row in cursor.fetchall()}  # type: ignore[attr-defined]


def _watermarks_lock() -> dict[str, RollupWatermark]:
    for source in ("decisions", "deliveries", "conversions", "reconcile"):
        RollupWatermark.objects.get_or_create(source=source)
    return {row.source: row for row in RollupWatermark.objects.select_for_update()}


def rollup_refresh(*, lag_s: float | None = None, reconcile: bool = True) -> RollupResult:
    """Adds what arrived since the last run to the rollups; see the module docstring."""
    lag = dt.timedelta(seconds=settings.CDP_DASHBOARD_ROLLUP_LAG_S if lag_s is None else lag_s)
    zone = settings.TIME_ZONE
    result = RollupResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        marks = _watermarks_lock()
        cursor.execute(
            "SELECT clock_timestamp(), (SELECT COALESCE(max(id), 0) FROM campaigns_conversion)"
        )
        now, conversion_max = cursor.fetchone()
        high = now - lag
        _delta_table_create(cursor)

        decisions = marks["decisions"]
        low = decisions.position or _minus_infinity()
        if high > low:
            result.decisions = _decisions_delta(
                cursor, "d.decided_at > %s AND d.decided_at <= %s", [low, high]
            )
            decisions.position = high

        conversions = marks["conversions"]
        if conversions.seen_id > conversions.last_id:
            window = "c.id > %s AND c.id <= %s"
            bounds = [conversions.last_id, conversions.seen_id]
            result.conversions = conversions.seen_id - conversions.last_id
            _conversions_delta(cursor, window, bounds)
            _conversions_flow_delta(cursor, window, bounds)
            conversions.last_id = conversions.seen_id
        conversions.seen_id = max(int(conversion_max), conversions.last_id)

        deliveries = marks["deliveries"]
        low = deliveries.position or _minus_infinity()
        if high > low:
            _deliveries_delta(
                cursor,
                low=low,
                high=high,
                where="GREATEST(v.sent_at, v.delivered_at, v.clicked_at, v.failed_at) > %s",
                params=[low],
            )
            deliveries.position = high

        result.campaigns = _campaigns_of_delta(cursor)
        result.buckets = _deltas_apply(cursor, zone=zone)
        for mark in (decisions, conversions, deliveries):
            mark.save()

        last_reconcile = marks["reconcile"].position
        if reconcile and (last_reconcile is None or now - last_reconcile >= RECONCILE_EVERY):
            if last_reconcile is not None:
                # The very first run read everything already; later ones re-read two days.
                today = timezone.localdate(now)
                rebuilt = _rebuild_days(
                    cursor, marks, first=today - dt.timedelta(days=1), last=today, zone=zone
                )
                result.campaigns |= rebuilt
                result.rebuilt_days = 2
            marks["reconcile"].position = now
            marks["reconcile"].save()
    if result.campaigns:
        transaction.on_commit(lambda: dashboards_changed_notify(result.campaigns))
    return result


def rollup_rebuild(*, first: dt.date, last: dt.date) -> RollupResult:
    """Recomputes the rollups of the local days ``first``..``last`` from the sources (backfill,
    and repair of anything the incremental runs missed). Reads the sources only up to the
    watermarks, so the next incremental run neither misses nor double counts a row."""
    if last < first:
        raise ValueError("last must not be before first")
    result = RollupResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        marks = _watermarks_lock()
        _delta_table_create(cursor)
        result.campaigns = _rebuild_days(
            cursor, marks, first=first, last=last, zone=settings.TIME_ZONE
        )
        result.rebuilt_days = (last - first).days + 1
    if result.campaigns:
        transaction.on_commit(lambda: dashboards_changed_notify(result.campaigns))
    return result


def _rebuild_days(
    cursor: object,
    marks: dict[str, RollupWatermark],
    *,
    first: dt.date,
    last: dt.date,
    zone: str,
) -> set[int]:
    zone_info = timezone.get_default_timezone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone_info)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone_info)
    cursor.execute("TRUNCATE dashboards_delta, dashboards_suppression_delta")  # type: ignore[attr-defined]
    for table in (_ROLLUP, _SUPPRESSION):
        cursor.execute(  # type: ignore[attr-defined]
            f"DELETE FROM {table} WHERE bucket >= %s AND bucket < %s", [start, end]
        )
    decided_until = marks["decisions"].position
    if decided_until is not None:
        _decisions_delta(
            cursor,
            "d.occurred_at >= %s AND d.occurred_at < %s AND d.decided_at <= %s",
            [start, end, decided_until],
        )
    conversions_until = marks["conversions"].last_id
    if conversions_until:
        _conversions_delta(
            cursor,
            "d.occurred_at >= %s AND d.occurred_at < %s AND c.id <= %s",
            [start, end, conversions_until],
        )
        _conversions_flow_delta(
            cursor,
            "c.occurred_at >= %s AND c.occurred_at < %s AND c.id <= %s",
            [start, end, conversions_until],
        )
    delivered_until = marks["deliveries"].position
    if delivered_until is not None:
        _deliveries_delta(
            cursor,
            low=_minus_infinity() - dt.timedelta(days=1),
            high=delivered_until,
            where="d.occurred_at >= %s AND d.occurred_at < %s",
            params=[start, end],
        )
    campaigns = _campaigns_of_delta(cursor)
    _deltas_apply(cursor, zone=zone)
    return campaigns


def dashboards_changed_notify(campaign_ids: Iterable[int]) -> None:
    """Tells open dashboards of these campaigns that their figures changed (best effort: the
    channel layer is at-most-once, and the pages poll anyway)."""
    try:
        from realtime import streams

        streams.redis_client().incr(streams.key("dashboards", "version"))
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        send = async_to_sync(layer.group_send)
        for campaign_id in sorted(set(campaign_ids)):
            send(f"campaign.{campaign_id}", {"type": "dashboard.changed"})
        send("campaigns.overview", {"type": "dashboard.changed"})
    except Exception:  # a live UI push never matters more than the rollup
        logger.debug("channel layer push failed", exc_info=True)
