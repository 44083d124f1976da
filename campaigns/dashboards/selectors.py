"""Reads of the dashboards: a campaign's figures, the overview, segments, alerts, exports.

History comes from the rollups (``models.CampaignRollup``: a handful of rows per bucket, so a
dashboard over months reads hundreds of rows, never the decisions); the last minutes come from
the live engine's Redis counters (``realtime.live.keys.counters``), merged minute by minute with
``max(rollup, redis)`` so whichever is further along wins and nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.dashboards import stats
from campaigns.dashboards.models import CampaignRollup, Grain, SuppressionRollup
from campaigns.models import Campaign, CampaignStatus
from realtime import streams
from realtime.live import keys as live_keys

#: minutes of Redis counters merged on top of the rollups
LIVE_MINUTES = 10

COUNTS = (
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
MONEY = ("revenue_offer", "revenue_control", "coupon_cost", "send_cost")
SERIES_FIELDS = ("triggered", "offered", "held_out", "sent", "delivered", "clicked", "converted")
#: live counter field (written by the engine) -> rollup column
LIVE_FIELDS = {
    "triggered": "triggered",
    "offer": "offered",
    "held_out": "held_out",
    "suppressed": "suppressed",
}


@dataclass(frozen=True)
class DashboardRange:
    key: str
    grain: str
    start: dt.datetime | None
    end: dt.datetime
    step: dt.timedelta | None  # None for days (local days differ in length at DST changes)


RANGE_CHOICES = ("1h", "24h", "7d", "30d", "90d", "all")
DEFAULT_RANGE = "24h"


def range_parse(value: str | None, *, now: dt.datetime | None = None) -> DashboardRange:
    """``1h`` (per minute), ``24h`` and ``7d`` (per hour), ``30d``, ``90d``, ``all`` (per local
    day). Raises ValueError naming the ``range`` parameter for anything else."""
    key = value or DEFAULT_RANGE
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    if key == "1h":
        return DashboardRange(
            key, Grain.MINUTE, minute - dt.timedelta(minutes=59), now, dt.timedelta(minutes=1)
        )
    if key in ("24h", "7d"):
        hours = 24 if key == "24h" else 24 * 7
        hour = minute.replace(minute=0)
        return DashboardRange(
            key, Grain.HOUR, hour - dt.timedelta(hours=hours - 1), now, dt.timedelta(hours=1)
        )
    if key in ("30d", "90d", "all"):
        today = timezone.localdate(now)
        start = None
        if key != "all":
            first = today - dt.timedelta(days=int(key[:-1]) - 1)
            start = dt.datetime.combine(first, dt.time(), tzinfo=timezone.get_default_timezone())
        return DashboardRange(key, Grain.DAY, start, now, None)
    raise ValueError(f"range: expected one of {', '.join(RANGE_CHOICES)}; got {value!r}")


def _bucket_of(moment: dt.datetime, grain: str) -> dt.datetime:
    if grain == Grain.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if grain == Grain.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _buckets(range_: DashboardRange, first: dt.datetime | None) -> list[dt.datetime]:
    start = range_.start or first
    if start is None:
        return []
    buckets: list[dt.datetime] = []
    if range_.step is not None:
        bucket = start
        while bucket <= range_.end:
            buckets.append(bucket)
            bucket += range_.step
        return buckets
    day = timezone.localdate(start)
    last = timezone.localdate(range_.end)
    zone = timezone.get_default_timezone()
    while day <= last:
        buckets.append(dt.datetime.combine(day, dt.time(), tzinfo=zone))
        day += dt.timedelta(days=1)
    return buckets


def _empty() -> dict[str, float]:
    return {name: 0 for name in COUNTS + MONEY}


def _number(value: object) -> float:
    if value is None:
        return 0
    if isinstance(value, Decimal):
        return float(value)
    return value  # type: ignore[return-value]  # ints from Sum over integer columns


def _rollups(campaign_id: int, range_: DashboardRange) -> Iterator[CampaignRollup]:
    rows = CampaignRollup.objects.filter(campaign_id=campaign_id, grain=range_.grain)
    if range_.start is not None:
        rows = rows.filter(bucket__gte=range_.start)
    return rows.iterator()


def _live_minutes(
    campaign_id: int, *, now: dt.datetime
) -> tuple[dict[dt.datetime, dict[str, int]], dict[dt.datetime, dict[str, int]]]:
    """Per minute of the last ``LIVE_MINUTES``: the engine's live counters and the reasons of
    suppressions, from Redis (one pipelined round trip)."""
    first = int(now.timestamp() // 60) - LIVE_MINUTES + 1
    minutes = list(range(first, first + LIVE_MINUTES))
    pipe = streams.redis_client().pipeline(transaction=False)
    for minute in minutes:
        pipe.hgetall(live_keys.counters(campaign_id, minute))
    counts: dict[dt.datetime, dict[str, int]] = {}
    reasons: dict[dt.datetime, dict[str, int]] = {}
    for minute, values in zip(minutes, pipe.execute(), strict=True):
        if not values:
            continue
        moment = dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)
        for raw_field, raw_value in values.items():
            field = raw_field.decode()
            value = int(raw_value)
            if field.startswith("suppressed:"):
                reasons.setdefault(moment, {})[field.partition(":")[2]] = value
            elif field in LIVE_FIELDS:
                counts.setdefault(moment, {})[LIVE_FIELDS[field]] = value
    return counts, reasons


def _lift_statement(lift: stats.Lift) -> str:
    def points(value: float) -> str:
        return f"{value * 100:.2f}"

    if lift.verdict == "no_control":
        return _(
            "No control group yet: no customer was held out, so lift cannot be measured. "
            "Set a holdout share in the campaign's guards."
        )
    if lift.verdict == "insufficient_data":
        return _(
            "Too little data for a verdict: each group needs at least %(minimum)d customers "
            "(offer %(offer)d, control %(control)d)."
        ) % {
            "minimum": stats.MINIMUM_GROUP_SIZE,
            "offer": lift.offer_total,
            "control": lift.control_total,
        }
    assert lift.interval is not None and lift.absolute is not None
    values = {
        "lift": points(abs(lift.absolute)),
        "low": points(lift.interval.low),
        "high": points(lift.interval.high),
    }
    if lift.verdict == "better":
        return (
            _(
                "Significant: the offer raised the conversion rate by %(lift)s percentage points "
                "over the control group (95%% confidence interval %(low)s to %(high)s)."
            )
            % values
        )
    if lift.verdict == "worse":
        return (
            _(
                "Significant: the offer lowered the conversion rate by %(lift)s percentage points "
                "against the control group (95%% confidence interval %(low)s to %(high)s)."
            )
            % values
        )
    return (
        _(
            "Not significant: the 95%% confidence interval of the difference (%(low)s to "
            "%(high)s percentage points) includes zero."
        )
        % values
    )


def lift_of(figures: dict[str, float]) -> dict[str, object]:
    lift = stats.lift(
        offer_conversions=int(min(figures["converted_offer"], figures["offered"])),
        offer_total=int(figures["offered"]),
        control_conversions=int(min(figures["converted_control"], figures["held_out"])),
        control_total=int(figures["held_out"]),
    )
    return {**lift.as_dict(), "statement": _lift_statement(lift)}


def money_of(figures: dict[str, float]) -> dict[str, float | None]:
    revenue = float(figures["revenue_offer"])
    cost = float(figures["coupon_cost"]) + float(figures["send_cost"])
    incremental = stats.incremental_revenue(
        revenue_offer=revenue,
        offer_total=int(figures["offered"]),
        revenue_control=float(figures["revenue_control"]),
        control_total=int(figures["held_out"]),
    )
    return {
        "revenue": revenue,
        "revenue_control": float(figures["revenue_control"]),
        "coupon_cost": float(figures["coupon_cost"]),
        "send_cost": float(figures["send_cost"]),
        "cost": cost,
        "roi": stats.roi(revenue=revenue, cost=cost),
        "incremental_revenue": incremental,
        "incremental_roi": (
            stats.roi(revenue=incremental, cost=cost) if incremental is not None else None
        ),
    }


def campaign_figures(
    *, campaign: Campaign, range_: DashboardRange, live: bool = True
) -> dict[str, object]:
    """Everything the campaign dashboard shows, JSON-able (the page, the WebSocket pushes, the
    API and the CSV exports all read this)."""
    totals = _empty()
    by_variant: dict[str, dict[str, float]] = defaultdict(_empty)
    by_bucket: dict[dt.datetime, dict[str, float]] = defaultdict(_empty)
    recent_rollup: dict[dt.datetime, dict[str, float]] = defaultdict(_empty)
    now = timezone.now()
    live_from = now.replace(second=0, microsecond=0) - dt.timedelta(minutes=LIVE_MINUTES - 1)
    first_bucket: dt.datetime | None = None
    for row in _rollups(campaign.id, range_):
        variant = by_variant[row.variant]
        bucket = by_bucket[row.bucket]
        first_bucket = row.bucket if first_bucket is None else min(first_bucket, row.bucket)
        for name in COUNTS + MONEY:
            value = _number(getattr(row, name))
            totals[name] += value
            variant[name] += value
            bucket[name] += value
    reasons: dict[str, float] = defaultdict(float)
    suppression = SuppressionRollup.objects.filter(campaign_id=campaign.id, grain=range_.grain)
    if range_.start is not None:
        suppression = suppression.filter(bucket__gte=range_.start)
    for reason, count in suppression.values_list("reason").annotate(total=Sum("count")):
        reasons[reason] += count

    if live:
        live_counts, live_reasons = _live_minutes(campaign.id, now=now)
        if live_counts or live_reasons:
            minute_rows = (
                CampaignRollup.objects.filter(
                    campaign_id=campaign.id, grain=Grain.MINUTE, bucket__gte=live_from
                )
                .values("bucket")
                .annotate(**{name: Sum(name) for name in LIVE_FIELDS.values()})
            )
            for row in minute_rows:
                for name in LIVE_FIELDS.values():
                    recent_rollup[row["bucket"]][name] = row[name] or 0
            reason_rows = SuppressionRollup.objects.filter(
                campaign_id=campaign.id, grain=Grain.MINUTE, bucket__gte=live_from
            ).values_list("bucket", "reason", "count")
            rolled_reasons: dict[tuple[dt.datetime, str], int] = {
                (bucket, reason): count for bucket, reason, count in reason_rows
            }
            for moment, counts in live_counts.items():
                if range_.start is not None and moment < range_.start:
                    continue
                target = by_bucket[_bucket_of(moment, range_.grain)]
                for name, value in counts.items():
                    extra = max(0, value - recent_rollup[moment][name])
                    totals[name] += extra
                    target[name] += extra
            for moment, counts in live_reasons.items():
                if range_.start is not None and moment < range_.start:
                    continue
                for reason, value in counts.items():
                    reasons[reason] += max(0, value - rolled_reasons.get((moment, reason), 0))

    buckets = _buckets(range_, first_bucket)
    series = {
        "labels": [timezone.localtime(bucket).isoformat() for bucket in buckets],
        **{name: [] for name in SERIES_FIELDS},
    }
    for bucket in buckets:
        values = by_bucket.get(bucket) or _empty()
        for name in SERIES_FIELDS:
            value = values["converted_offer"] if name == "converted" else values[name]
            series[name].append(int(value))  # type: ignore[attr-defined]

    variants = []
    for name in sorted(by_variant):
        figures = by_variant[name]
        variants.append(
            {
                "variant": name or "-",
                **{key: _plain(figures[key]) for key in COUNTS + MONEY},
                "conversion_rate_offer": stats.rate(figures["converted_offer"], figures["offered"]),
                "conversion_rate_control": stats.rate(
                    figures["converted_control"], figures["held_out"]
                ),
                "lift": lift_of(figures),
                "money": money_of(figures),
            }
        )

    funnel = [
        {"step": "triggered", "label": _("Triggered"), "count": int(totals["triggered"])},
        {"step": "sent", "label": _("Sent"), "count": int(totals["sent"])},
        {"step": "delivered", "label": _("Delivered"), "count": int(totals["delivered"])},
        {"step": "clicked", "label": _("Clicked"), "count": int(totals["clicked"])},
        {"step": "converted", "label": _("Converted"), "count": int(totals["converted_offer"])},
    ]
    return {
        "campaign": {"id": campaign.id, "name": campaign.name, "status": campaign.status},
        "range": {
            "key": range_.key,
            "grain": range_.grain,
            "start": range_.start.isoformat() if range_.start else None,
            "end": range_.end.isoformat(),
        },
        "totals": {name: _plain(value) for name, value in totals.items()},
        "rates": {
            "delivery_rate": stats.rate(totals["delivered"], totals["sent"]),
            "click_rate": stats.rate(totals["clicked"], totals["delivered"]),
            "conversion_rate_offer": stats.rate(totals["converted_offer"], totals["offered"]),
            "conversion_rate_control": stats.rate(totals["converted_control"], totals["held_out"]),
        },
        "lift": lift_of(totals),
        "money": money_of(totals),
        "funnel": funnel,
        "suppression": [
            {"reason": reason, "count": int(count)}
            for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        "variants": variants,
        "series": series,
        "control_sends": int(totals["sent_control"]),
        "generated_at": now.isoformat(),
    }


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 4)


# --- campaigns and access ------------------------------------------------------------------


def dashboard_campaigns() -> Iterable[Campaign]:
    """Campaigns with a dashboard: every campaign ever published (drafts have no figures)."""
    return Campaign.objects.exclude(status=CampaignStatus.DRAFT, live_version__isnull=True)


def dashboard_campaign_get(*, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id).first()


# --- per-segment breakdown -----------------------------------------------------------------

#: a synthetic trait: the decade of ``age`` ("30s") when the profile has no ``age_band``
AGE_BAND = "age_band"


def segment_traits() -> list[str]:
    """Trait names found on (a sample of) customer profiles, for the breakdown's picker."""
    cached = cache.get("dashboards:segment-traits")
    if cached is not None:
        return list(cached)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT jsonb_object_keys(traits) FROM "
            "(SELECT traits FROM segments_customer WHERE jsonb_typeof(traits) = 'object' "
            "LIMIT 2000) sample"
        )
        names = sorted(row[0] for row in cursor.fetchall())
    private = {"phone", "email", "push_token", "first_name", "last_name", "name", "birth_date"}
    names = [name for name in names if name not in private]
    if "age" in names and AGE_BAND not in names:
        names.insert(0, AGE_BAND)
    cache.set("dashboards:segment-traits", names, 300)
    return names


def campaign_segments(
    *, campaign: Campaign, range_: DashboardRange, trait: str
) -> list[dict[str, object]]:
    """Offer and control conversion per value of a profile trait, from the decisions joined to
    the customers' profiles (read on demand, cached for a minute)."""
    cache_key = f"dashboards:segments:{campaign.id}:{range_.key}:{trait}"
    cached = cache.get(cache_key)
    if cached is not None:
        return list(cached)
    if trait == AGE_BAND:
        value_sql = (
            "CASE WHEN cu.traits ? 'age_band' THEN cu.traits->>'age_band' "
            "WHEN cu.traits->>'age' ~ '^[0-9]{1,3}$' "
            "THEN ((cu.traits->>'age')::int / 10 * 10)::text || 's' END"
        )
        params: list[object] = []
    else:
        value_sql = "cu.traits->>%s"
        params = [trait]
    where = "d.campaign_id = %s"
    params.append(campaign.id)
    if range_.start is not None:
        where += " AND d.occurred_at >= %s"
        params.append(range_.start)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE({value_sql}, '') AS segment, "
            "count(*) FILTER (WHERE d.outcome = 'offer'), "
            "count(*) FILTER (WHERE d.outcome = 'offer' AND EXISTS "
            "(SELECT 1 FROM campaigns_conversion c WHERE c.decision_id = d.id)), "
            "count(*) FILTER (WHERE d.outcome = 'held_out'), "
            "count(*) FILTER (WHERE d.outcome = 'held_out' AND EXISTS "
            "(SELECT 1 FROM campaigns_conversion c WHERE c.decision_id = d.id)), "
            "count(*) FILTER (WHERE d.outcome = 'suppressed') "
            "FROM campaigns_decision d "
            "LEFT JOIN segments_customer cu ON cu.customer_id = d.customer_id "
            f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50",
            params,
        )
        rows = cursor.fetchall()
    segments = []
    for segment, offered, converted, held_out, converted_control, suppressed in rows:
        figures = {
            "offered": offered,
            "converted_offer": converted,
            "held_out": held_out,
            "converted_control": converted_control,
        }
        segments.append(
            {
                "segment": segment or _("(unknown)"),
                **figures,
                "suppressed": suppressed,
                "conversion_rate_offer": stats.rate(converted, offered),
                "conversion_rate_control": stats.rate(converted_control, held_out),
                "lift": lift_of(figures),
            }
        )
    cache.set(cache_key, segments, 60)
    return segments


# --- overview across campaigns -------------------------------------------------------------


def overview_rows(*, range_: DashboardRange) -> list[dict[str, object]]:
    """One row per campaign with figures in the range, ranked by lift then ROI."""
    rows = CampaignRollup.objects.filter(grain=range_.grain)
    if range_.start is not None:
        rows = rows.filter(bucket__gte=range_.start)
    sums = rows.values("campaign_id").annotate(**{name: Sum(name) for name in COUNTS + MONEY})
    figures_by_campaign = {
        row["campaign_id"]: {name: _number(row[name]) for name in COUNTS + MONEY} for row in sums
    }
    campaigns = {
        campaign.id: campaign
        for campaign in Campaign.objects.filter(pk__in=figures_by_campaign).only(
            "id", "name", "status"
        )
    }
    result = []
    for campaign_id, figures in figures_by_campaign.items():
        campaign = campaigns.get(campaign_id)
        if campaign is None:
            continue
        lift = lift_of(figures)
        money = money_of(figures)
        result.append(
            {
                "campaign_id": campaign_id,
                "campaign": campaign.name,
                "status": campaign.get_status_display(),
                **{name: _plain(figures[name]) for name in COUNTS + MONEY},
                "delivery_rate": stats.rate(figures["delivered"], figures["sent"]),
                "conversion_rate_offer": lift["rate_offer"],
                "conversion_rate_control": lift["rate_control"],
                "lift": lift,
                "money": money,
            }
        )

    def rank(row: dict[str, object]) -> tuple[float, float]:
        lift = row["lift"]
        money = row["money"]
        absolute = lift["absolute"] if isinstance(lift, dict) else None
        roi = money["roi"] if isinstance(money, dict) else None
        return (
            -(absolute if isinstance(absolute, float) else float("-inf")),
            -(roi if isinstance(roi, float) else float("-inf")),
        )

    result.sort(key=rank)
    return result


@dataclass(frozen=True)
class Alert:
    campaign_id: int
    campaign: str
    metric: str
    metric_label: str
    recent_rate: float
    baseline_rate: float
    relative_drop: float
    recent_trials: int
    baseline_trials: int

    def as_dict(self) -> dict[str, object]:
        return {
            "campaign_id": self.campaign_id,
            "campaign": self.campaign,
            "metric": self.metric,
            "metric_label": self.metric_label,
            "recent_rate": self.recent_rate,
            "baseline_rate": self.baseline_rate,
            "relative_drop": self.relative_drop,
            "recent_trials": self.recent_trials,
            "baseline_trials": self.baseline_trials,
        }


def overview_alerts(*, now: dt.datetime | None = None) -> list[Alert]:
    """Campaigns whose delivery or conversion rate fell in the last hour against the trailing
    day before it (``stats.rate_drop``: a minimum volume, a 30 % fall, significant at 1 %).

    Conversion here is by conversion time (``converted_flow`` over offers of the same window),
    so the last hour is not penalised for attribution windows that are still open."""
    now = now or timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    baseline_end = hour_ago.replace(minute=0, second=0, microsecond=0)
    baseline_start = baseline_end - dt.timedelta(hours=24)
    names = ("sent", "delivered", "offered", "converted_flow")
    recent = {
        row["campaign_id"]: row
        for row in CampaignRollup.objects.filter(grain=Grain.MINUTE, bucket__gte=hour_ago)
        .values("campaign_id")
        .annotate(**{name: Sum(name) for name in names})
    }
    baseline = {
        row["campaign_id"]: row
        for row in CampaignRollup.objects.filter(
            grain=Grain.HOUR, bucket__gte=baseline_start, bucket__lt=baseline_end
        )
        .values("campaign_id")
        .annotate(**{name: Sum(name) for name in names})
    }
    campaign_names = dict(
        Campaign.objects.filter(pk__in=set(recent) & set(baseline)).values_list("id", "name")
    )
    metrics = (
        ("delivery_rate", _("delivery rate"), "delivered", "sent"),
        ("conversion_rate", _("conversion rate"), "converted_flow", "offered"),
    )
    alerts = []
    for campaign_id, name in sorted(campaign_names.items(), key=lambda item: item[1]):
        for metric, label, successes, trials in metrics:
            now_row, before_row = recent[campaign_id], baseline[campaign_id]
            drop = stats.rate_drop(
                recent_successes=int(now_row[successes] or 0),
                recent_trials=int(now_row[trials] or 0),
                baseline_successes=int(before_row[successes] or 0),
                baseline_trials=int(before_row[trials] or 0),
                minimum_trials=getattr(settings, "CDP_DASHBOARD_ALERT_MIN_VOLUME", 50),
            )
            if drop is not None:
                alerts.append(
                    Alert(
                        campaign_id=campaign_id,
                        campaign=name,
                        metric=metric,
                        metric_label=str(label),
                        recent_rate=drop.recent_rate,
                        baseline_rate=drop.baseline_rate,
                        relative_drop=drop.relative_drop,
                        recent_trials=int(now_row[trials] or 0),
                        baseline_trials=int(before_row[trials] or 0),
                    )
                )
    return alerts


# --- live fingerprint and raw export -------------------------------------------------------


def live_version_key() -> str:
    return streams.key("dashboards", "version")


def decisions_export_rows(
    *, campaign: Campaign, range_: DashboardRange
) -> Iterator[tuple[object, ...]]:
    """Every decision of the range with its conversions, streamed with a server-side cursor."""
    rows = campaign.decisions.order_by("occurred_at")
    if range_.start is not None:
        rows = rows.filter(occurred_at__gte=range_.start)
    values = rows.values_list(
        "id", "occurred_at", "customer_id", "outcome", "suppression_reason", "variant"
    )
    for decision_id, occurred_at, customer_id, outcome, reason, variant in values.iterator(
        chunk_size=5000
    ):
        yield (decision_id, occurred_at.isoformat(), customer_id, outcome, reason, variant)


def rollup_span(*, campaign: Campaign) -> tuple[dt.datetime | None, dt.datetime | None]:
    span = CampaignRollup.objects.filter(campaign=campaign, grain=Grain.DAY).aggregate(
        first=Min("bucket"), last=Max("bucket")
    )
    return span["first"], span["last"]
