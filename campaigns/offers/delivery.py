"""The delivery pipeline's writes: decisions → delivery rows → messages on channels.

Every status change is a check-and-set in PostgreSQL. Claiming locks the rows with
``SELECT ... FOR UPDATE SKIP LOCKED`` and moves them from ``queued`` (or a ``sending`` claim
whose worker died, older than the lease) to ``sending`` in the same transaction that checks the
offer's per-customer limit (under an advisory lock per offer and customer) and issues the coupon
(``FOR UPDATE SKIP LOCKED`` on the pool). So a duplicated or concurrent task finds nothing to
claim and sends nothing; only the send itself happens outside a transaction.

One function handles a batch (``deliveries_send``): a task of 50 deliveries costs a handful of
queries, not 50 times a handful.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.models import (
    Coupon,
    CouponPool,
    CouponStatus,
    DecisionOutcome,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Offer,
    StaffTask,
    StaffTaskKind,
)
from campaigns.offers import context as message_context
from campaigns.offers.rendering import RenderContext, render, render_line, render_payload
from campaigns.offers.sql import bigint_array, text_array
from realtime import streams
from realtime.delivery import Message, SendResult, backend_for
from realtime.delivery.ratelimit import tokens_take

logger = logging.getLogger(__name__)

#: Where the platform's own alerts (an empty coupon pool) land on the staff console.
MARKETING_TEAM = "marketing"
COUPONS_EXHAUSTED = "coupons exhausted"
COUPONS_EXPIRED = "coupons expired"
OFFER_LIMIT = "offer_limit"
COMMITTED_STATUSES = (DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.DELIVERED)


# --- decisions → delivery rows ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedAction:
    index: int
    kind: str  # DeliveryKind
    offer_slug: str = ""
    channels: tuple[str, ...] = ()
    team: str = ""
    message: str = ""
    is_popup: bool | None = None


def actions_plan(actions: object) -> list[PlannedAction]:
    """The deliverable actions of a decision, in both shapes the engine may write:

    ``{"offer": SLUG, "channel": C, "fallback": C}`` / ``{"notify_staff": {"team", "message"}}``
    (the rule spec's) and ``{"kind": "offer", ...}`` / ``{"kind": "notify_staff", ...}``.
    ``set_profile`` and ``emit`` are the engine's own business and deliver nothing.
    """
    planned: list[PlannedAction] = []
    if not isinstance(actions, list):
        return planned
    for index, action in enumerate(actions):
        if not isinstance(action, Mapping):
            continue
        kind = action.get("kind")
        if kind == "offer" or (kind is None and "offer" in action):
            channels = [action.get("channel"), action.get("fallback")]
            names = tuple(dict.fromkeys(str(name) for name in channels if name))
            planned.append(
                PlannedAction(
                    index=index,
                    kind=DeliveryKind.OFFER,
                    offer_slug=str(action.get("offer") or ""),
                    channels=names or ("push",),
                )
            )
        elif kind == "notify_staff" or (kind is None and "notify_staff" in action):
            body = action.get("notify_staff") if kind is None else action
            if not isinstance(body, Mapping):
                continue
            popup = body.get("popup")
            planned.append(
                PlannedAction(
                    index=index,
                    kind=DeliveryKind.STAFF,
                    channels=("staff",),
                    team=str(body.get("team") or ""),
                    message=str(body.get("message") or ""),
                    is_popup=popup if isinstance(popup, bool) else None,
                )
            )
    return planned


_DECISIONS_SQL = (
    "SELECT d.id::text, d.campaign_id, d.customer_id, d.outcome, d.suppression_reason,"
    " d.actions::text FROM campaigns_decision AS d WHERE d.id = ANY(%s::uuid[])"
)
# One statement per batch: the rows travel as one JSON document (orjson on our side; PostgreSQL
# parses it in C), so neither Django's ORM nor per-value quoting costs Python time per row.
_DELIVERIES_INSERT_SQL = """
INSERT INTO campaigns_delivery (
    decision_id, action_index, campaign_id, customer_id, kind, offer_id, team, channels, channel,
    status, reason, last_error, attempts, channel_failures, provider_message_id, queued_at,
    updated_at
)
SELECT v.d, v.i, v.c, v.u, v.k, v.o, v.t, v.cs, v.ch, v.s, v.r, v.e, 0, 0, '', now(), now()
FROM json_to_recordset(%s::json) AS v(
    d uuid, i smallint, c bigint, u text, k text, o bigint, t text, cs jsonb, ch text, s text,
    r text, e text
)
ORDER BY v.d, v.i
ON CONFLICT (decision_id, action_index) DO NOTHING
RETURNING id, status
"""
_plans: dict[str, list[PlannedAction]] = {}


def _actions_plan_cached(actions_text: str) -> list[PlannedAction]:
    """Decisions of one campaign version carry the same actions: plan each text once."""
    plan = _plans.get(actions_text)
    if plan is None:
        if len(_plans) > 10_000:
            _plans.clear()
        plan = _plans[actions_text] = actions_plan(orjson.loads(actions_text))
    return plan


def _uuids(values: Iterable[str]) -> list[str]:
    """The values that are UUIDs (a malformed stream entry must not stop the batch)."""
    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(str(value))))
        except ValueError:
            logger.warning("ignoring a decision id that is not a UUID: %r", value)
    return valid


def deliveries_create(*, decision_ids: Sequence[str]) -> list[int]:
    """Creates the missing delivery rows of these decisions (idempotent: a re-read decision
    creates nothing twice) and answers the ids of every one of their rows still queued.

    The dispatcher's hot path: one SELECT for the decisions, one for their offers, one INSERT
    ... ON CONFLICT DO NOTHING for every row; a re-read (some rows existed) adds one SELECT.
    """
    ids = _uuids(decision_ids)
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_DECISIONS_SQL, [ids])
        decisions = cursor.fetchall()
    slugs = {
        action.offer_slug
        for _, _, _, outcome, _, actions in decisions
        if outcome == DecisionOutcome.OFFER
        for action in _actions_plan_cached(actions)
        if action.kind == DeliveryKind.OFFER
    }
    offers = {
        slug: (offer_id, is_active)
        for offer_id, slug, is_active in Offer.objects.filter(slug__in=slugs).values_list(
            "id", "slug", "is_active"
        )
    }
    rows: list[dict[str, object]] = []
    for decision_id, campaign_id, customer_id, outcome, suppression_reason, actions in decisions:
        base = {"d": decision_id, "c": campaign_id, "u": customer_id, "t": "", "e": ""}
        if outcome == DecisionOutcome.HELD_OUT:
            none = {"i": 0, "k": DeliveryKind.NONE, "cs": [], "ch": ""}
            rows.append({**base, **none, "s": DeliveryStatus.HELD_OUT, "r": ""})
            continue
        if outcome == DecisionOutcome.SUPPRESSED:
            none = {"i": 0, "k": DeliveryKind.NONE, "cs": [], "ch": ""}
            reason = suppression_reason or "suppressed"
            rows.append({**base, **none, "s": DeliveryStatus.SUPPRESSED, "r": reason})
            continue
        for action in _actions_plan_cached(actions):
            row: dict[str, object] = {
                **base,
                "i": action.index,
                "k": action.kind,
                "cs": action.channels,
                "ch": action.channels[0],
                "s": DeliveryStatus.QUEUED,
                "r": "",
            }
            if action.kind == DeliveryKind.OFFER:
                offer_id, is_active = offers.get(action.offer_slug, (None, False))
                row["o"] = offer_id
                if offer_id is None:
                    row["s"], row["r"] = DeliveryStatus.SUPPRESSED, "unknown offer"
                    row["e"] = f"no offer with slug {action.offer_slug!r}"
                elif not is_active:
                    row["s"], row["r"] = DeliveryStatus.SUPPRESSED, "offer inactive"
            else:
                row["t"] = action.team[:60]
            rows.append(row)
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_DELIVERIES_INSERT_SQL, [orjson.dumps(rows).decode()])
        inserted = cursor.fetchall()
        if len(inserted) == len(rows):
            return [
                delivery_id for delivery_id, status in inserted if status == DeliveryStatus.QUEUED
            ]
        # Some rows were there already (a dispatcher re-reading its pending entries).
        cursor.execute(
            "SELECT id FROM campaigns_delivery WHERE decision_id = ANY(%s::uuid[])"
            " AND status = %s ORDER BY id",
            [ids, DeliveryStatus.QUEUED],
        )
        return [delivery_id for (delivery_id,) in cursor.fetchall()]


# --- sending ---------------------------------------------------------------------------------


@dataclass
class SendOutcome:
    sent: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    #: countdown in seconds → delivery ids to try again then
    retry: dict[float, list[int]] = field(default_factory=lambda: defaultdict(list))


def _channel_option(channel: str, name: str, default: float = 0.0) -> float:
    value = (settings.CDP_CHANNELS.get(channel) or {}).get(name, default)
    return float(value) if isinstance(value, int | float | str) and value != "" else default


def _advisory_locks(pairs: Iterable[tuple[int, str]]) -> None:
    """Serialises the limit check per (offer, customer) across workers, in a fixed order."""
    keys = sorted({f"offer-limit:{offer_id}:{customer_id}" for offer_id, customer_id in pairs})
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))"
            " FROM (SELECT k FROM unnest(%s::text[]) AS k ORDER BY k) AS ordered",
            [text_array(keys)],
        )


def _rows_update(
    model: type[Delivery] | type[Coupon],
    rows: Sequence[object],
    columns: Mapping[str, str],
    *,
    touch: bool = False,
) -> None:
    """One ``UPDATE ... FROM json_to_recordset(...)`` for a batch of rows with different values.

    Django's ``bulk_update`` builds a CASE expression per row and field; at a few hundred rows
    that costs more Python time than everything else a delivery does. The values travel as one
    JSON document (orjson here, PostgreSQL's parser there), not as quoted arrays.
    """
    if not rows:
        return
    names = ["id", *columns]
    document = orjson.dumps([[getattr(row, name) for name in names] for row in rows]).decode()
    kinds = ["bigint", *columns.values()]
    picked = ", ".join(f"(r->>{index})::{kind}" for index, kind in enumerate(kinds))
    assignments = ", ".join(f"{name} = v.{name}" for name in columns)
    if touch:
        assignments += ", updated_at = now()"
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {assignments} FROM (SELECT {picked}"
            f" FROM json_array_elements(%s::json) AS r) AS v({', '.join(names)})"
            " WHERE t.id = v.id",
            [document],
        )


def _pool_of(offer: Offer | None) -> CouponPool | None:
    if offer is None:
        return None
    try:
        return offer.pool
    except CouponPool.DoesNotExist:
        return None


@dataclass(slots=True)
class ClaimedRow:
    """What sending needs of a delivery row: plain columns, no model instance (loading 250
    Delivery + Offer + CouponPool + Decision instances cost more than sending them)."""

    id: int
    kind: str
    channel: str
    channels: list[str]
    customer_id: str
    decision_id: uuid.UUID
    campaign_id: int
    offer_id: int | None
    attempts: int
    coupon_id: int | None
    link_token: str | None
    team: str
    action_index: int
    status: str = DeliveryStatus.QUEUED
    reason: str = ""
    claimed_at: datetime | None = None
    failed_at: datetime | None = None
    offer: Offer | None = None
    coupon: Coupon | IssuedCoupon | None = None


_CLAIM_SQL = (
    "SELECT id, kind, channel, channels::text, customer_id, decision_id, campaign_id, offer_id,"
    " attempts, coupon_id, link_token, team, action_index FROM campaigns_delivery"
    " WHERE id = ANY(%s::bigint[])"
    " AND (status = %s OR (status = %s AND claimed_at < %s))"
    " ORDER BY id FOR UPDATE SKIP LOCKED"
)


def _claimable(delivery_ids: Sequence[int], lease: datetime) -> list[ClaimedRow]:
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            [bigint_array(delivery_ids), DeliveryStatus.QUEUED, DeliveryStatus.SENDING, lease],
        )
        found = cursor.fetchall()
    rows = []
    for values in found:
        row = ClaimedRow(*values)
        row.channels = orjson.loads(row.channels)  # type: ignore[arg-type]  # text from SQL
        rows.append(row)
    offer_ids = {row.offer_id for row in rows if row.offer_id is not None}
    if offer_ids:
        offers = Offer.objects.select_related("pool").in_bulk(offer_ids)
        for row in rows:
            row.offer = offers.get(row.offer_id) if row.offer_id is not None else None
    return rows


@transaction.atomic
def _claim(delivery_ids: Sequence[int], now: datetime, outcome: SendOutcome) -> list[ClaimedRow]:
    lease = now - timedelta(seconds=settings.CDP_DELIVERY_SENDING_LEASE_S)
    candidates = _claimable(delivery_ids, lease)
    found = {row.id for row in candidates}
    outcome.skipped.extend(i for i in delivery_ids if i not in found)

    # Per-channel rate limit: what finds no token stays queued and is tried again shortly.
    by_channel: dict[str, list[ClaimedRow]] = defaultdict(list)
    for row in candidates:
        by_channel[row.channel].append(row)
    rows: list[ClaimedRow] = []
    for channel, channel_rows in by_channel.items():
        rate = _channel_option(channel, "RATE_PER_S")
        burst = int(_channel_option(channel, "BURST", max(rate, 1.0)))
        granted, wait = tokens_take(channel, len(channel_rows), rate=rate, burst=burst)
        rows += channel_rows[:granted]
        if granted < len(channel_rows):
            outcome.retry[max(wait, 0.05)].extend(row.id for row in channel_rows[granted:])

    offer_rows = [row for row in rows if row.kind == DeliveryKind.OFFER and row.offer is not None]
    _advisory_locks((row.offer_id, row.customer_id) for row in offer_rows)  # type: ignore[misc]
    claimed_ids = [row.id for row in rows]
    counts: dict[tuple[int, str], int] = defaultdict(int)
    if offer_rows:
        # Rows already past this check: sending, sent, delivered, or queued for a retry.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT offer_id, customer_id, count(*) FROM campaigns_delivery"
                " WHERE offer_id = ANY(%s::bigint[]) AND customer_id = ANY(%s::text[])"
                " AND (status = ANY(%s::text[]) OR (status = %s AND attempts > 0))"
                " AND NOT id = ANY(%s::bigint[])"
                " GROUP BY offer_id, customer_id",
                [
                    bigint_array({row.offer_id for row in offer_rows}),
                    text_array(sorted({row.customer_id for row in offer_rows})),
                    text_array(COMMITTED_STATUSES),
                    DeliveryStatus.QUEUED,
                    bigint_array(claimed_ids),
                ],
            )
            for offer_id, customer_id, n in cursor.fetchall():
                counts[(offer_id, customer_id)] = n

    suppressed: list[ClaimedRow] = []
    passing: list[ClaimedRow] = []
    for row in rows:
        if row.kind == DeliveryKind.OFFER and row.offer is not None:
            pair = (row.offer_id, row.customer_id)
            if row.attempts == 0 and counts[pair] >= row.offer.per_customer_limit:
                row.status, row.reason = DeliveryStatus.SUPPRESSED, OFFER_LIMIT
                suppressed.append(row)
                continue
            counts[pair] += 1  # type: ignore[index]
        passing.append(row)

    _coupons_issue(passing, now, suppressed)
    claimed = [row for row in passing if row.status != DeliveryStatus.SUPPRESSED]
    for row in claimed:
        row.status = DeliveryStatus.SENDING
        row.claimed_at = now
        row.attempts += 1
        if row.kind == DeliveryKind.OFFER and row.offer and row.offer.link_url:
            row.link_token = row.link_token or secrets.token_urlsafe(12)
    for row in suppressed:
        row.failed_at = None
    _rows_update(
        Delivery,
        claimed + suppressed,
        {
            "status": "text",
            "reason": "text",
            "claimed_at": "timestamptz",
            "attempts": "integer",
            "coupon_id": "bigint",
            "link_token": "text",
        },
        touch=True,
    )
    outcome.suppressed.extend(row.id for row in suppressed)
    return claimed


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    id: int
    code: str


# Takes the next available codes of one pool (the partial index coupon_available_in_pool walks
# them in id order) and issues them to the batch's deliveries, n-th code to n-th delivery, in
# one statement. SKIP LOCKED: a code another batch is issuing right now is not waited for.
_COUPONS_ISSUE_SQL = """
WITH picked AS (
    SELECT id FROM campaigns_coupon
    WHERE pool_id = %s AND status = 'available'
    ORDER BY id LIMIT %s
    FOR UPDATE SKIP LOCKED
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM picked
)
UPDATE campaigns_coupon AS c
SET status = 'issued', issued_to = v.customer_id, decision_id = v.decision_id, issued_at = %s
FROM numbered
JOIN json_to_recordset(%s::json) AS v(n bigint, customer_id text, decision_id uuid)
    ON v.n = numbered.n
WHERE c.id = numbered.id
RETURNING v.n, c.id, c.code
"""


def _coupons_issue(rows: list[ClaimedRow], now: datetime, suppressed: list[ClaimedRow]) -> None:
    """One single-use code per offer delivery whose offer has a pool (kept across retries)."""
    wanting: dict[int, list[ClaimedRow]] = defaultdict(list)
    pools: dict[int, CouponPool] = {}
    for row in rows:
        pool = _pool_of(row.offer) if row.kind == DeliveryKind.OFFER else None
        if pool is not None and row.coupon_id is None:
            wanting[pool.id].append(row)
            pools[pool.id] = pool
    for pool_id, pool_rows in wanting.items():
        pool = pools[pool_id]
        issued = 0
        if pool.expires_at is not None and pool.expires_at <= now:
            reason = COUPONS_EXPIRED
        else:
            reason = COUPONS_EXHAUSTED
            recipients = [
                {"n": n, "customer_id": row.customer_id, "decision_id": row.decision_id}
                for n, row in enumerate(pool_rows, start=1)
            ]
            with connection.cursor() as cursor:
                cursor.execute(
                    _COUPONS_ISSUE_SQL,
                    [pool_id, len(pool_rows), now, orjson.dumps(recipients).decode()],
                )
                for n, coupon_id, code in cursor.fetchall():
                    row = pool_rows[n - 1]
                    row.coupon = IssuedCoupon(coupon_id, code)
                    row.coupon_id = coupon_id
                    issued += 1
        short = [row for row in pool_rows if row.coupon_id is None]
        if short:
            for row in short:
                row.status, row.reason = DeliveryStatus.SUPPRESSED, reason
                suppressed.append(row)
            _pool_exhausted(pool, now, reason)


def _pool_exhausted(pool: CouponPool, now: datetime, reason: str) -> None:
    """Stops issuing and tells the marketers, once per shortage (cleared when refilled)."""
    newly = CouponPool.objects.filter(pk=pool.pk, exhausted_at__isnull=True).update(
        exhausted_at=now
    )
    if not newly:
        return
    offer = pool.offer
    logger.warning("coupon pool of offer %s: %s; offers are suppressed", offer.slug, reason)
    task = StaffTask.objects.create(
        team=MARKETING_TEAM,
        kind=StaffTaskKind.POPUP,
        message=f"Offer “{offer.name}”: {reason}. Customers get no offer until the pool is "
        f"refilled.",
    )
    transaction.on_commit(lambda: staff_task_push(task_id=task.id))


def _message_for(
    row: ClaimedRow, traits: Mapping[str, object], event: Mapping[str, object]
) -> Message:
    offer = row.offer
    coupon = row.coupon
    link = f"{settings.CDP_PUBLIC_URL.rstrip('/')}/r/{row.link_token}" if row.link_token else ""
    pool = _pool_of(offer)
    value = ""
    if offer is not None and offer.coupon_value is not None:
        amount = offer.coupon_value.normalize()
        value = f"{amount:f}%" if offer.is_percent else f"{amount:f} {offer.coupon_currency}"
    context = RenderContext.build(
        customer={**traits, "id": row.customer_id},
        event=event,
        coupon_code=coupon.code if coupon else "",
        coupon_expires_at=(
            timezone.localtime(pool.expires_at).strftime("%Y-%m-%d")
            if pool and pool.expires_at
            else ""
        ),
        coupon_value=value,
        offer_name=offer.name if offer else "",
        link=link,
    )
    channel = row.channel
    base = {"channel": channel, "key": str(row.id), "customer_id": row.customer_id}
    assert offer is not None
    if channel == "sms":
        return Message(
            **base, to=str(traits.get("phone") or ""), body=render(offer.sms_body, context)
        )
    if channel == "email":
        return Message(
            **base,
            to=str(traits.get("email") or ""),
            title=render_line(offer.email_subject, context),
            body=render(offer.email_body, context),
            html_body=render(offer.email_body, context, escaping="html"),
        )
    if channel == "webhook":
        payload = render_payload(offer.webhook_payload or {}, context)
        return Message(
            **base,
            payload=payload if isinstance(payload, dict) else {},
            metadata={
                "decision_id": str(row.decision_id),
                "campaign_id": row.campaign_id,
                "offer": offer.slug,
                "coupon": coupon.code if coupon else None,
            },
        )
    # push (FCM token or a web push subscription)
    return Message(
        **base,
        to=str(traits.get("push_token") or ""),
        title=render_line(offer.push_title, context),
        body=render(offer.push_body, context),
        metadata={"webpush_subscription": traits.get("webpush_subscription")},
    )


def _staff_messages(
    rows: list[ClaimedRow],
    traits: Mapping[str, Mapping[str, object]],
    decisions: Mapping[uuid.UUID, tuple[object, object]],
) -> list[Message]:
    """Staff deliveries: the task row first (idempotent per delivery), then the live push."""
    popup_teams = set(settings.CDP_STAFF_POPUP_TEAMS)
    tasks: list[StaffTask] = []
    for row in rows:
        actions, explanation = decisions.get(row.decision_id, ([], []))
        action = next((a for a in actions_plan(actions) if a.index == row.action_index), None)
        template = action.message if action else ""
        context = RenderContext.build(
            customer={**traits.get(row.customer_id, {}), "id": row.customer_id},
            event=message_context.trigger_attributes(explanation),
        )
        is_popup = action.is_popup if action and action.is_popup is not None else None
        if is_popup is None:
            is_popup = row.team in popup_teams
        tasks.append(
            StaffTask(
                delivery_id=row.id,
                team=row.team,
                kind=StaffTaskKind.POPUP if is_popup else StaffTaskKind.TASK,
                customer_id=row.customer_id,
                message=render(template, context) or "(no message)",
            )
        )
    StaffTask.objects.bulk_create(tasks, ignore_conflicts=True)
    by_delivery = {
        task.delivery_id: task
        for task in StaffTask.objects.filter(delivery_id__in=[row.id for row in rows])
    }
    messages = []
    for row in rows:
        task = by_delivery[row.id]
        messages.append(
            Message(
                channel="staff",
                key=str(row.id),
                customer_id=row.customer_id,
                team=row.team,
                body=task.message,
                html_body=staff_task_html(task),
                metadata={"task_id": task.id},
            )
        )
    return messages


def staff_task_html(task: StaffTask) -> str:
    return render_to_string("campaigns/partials/_staff_task.html", {"task": task, "oob": True})


def _uses_event(offer: Offer, channel: str) -> bool:
    """Whether the offer's template for this channel may name an ``event.*`` placeholder."""
    if channel == "webhook":
        text = orjson.dumps(offer.webhook_payload).decode()
    else:
        text = " ".join(
            str(value)
            for value in (
                offer.sms_body,
                offer.email_subject,
                offer.email_body,
                offer.push_title,
                offer.push_body,
            )
        )
    return "event." in text


def _decisions_details(
    decision_ids: Iterable[uuid.UUID],
) -> dict[uuid.UUID, tuple[object, object]]:
    """decision id → (actions, explanation), in one query."""
    wanted = list(set(decision_ids))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, actions::text, explanation::text FROM campaigns_decision"
            " WHERE id = ANY(%s::uuid[])",
            [wanted],
        )
        return {
            decision_id: (orjson.loads(actions), orjson.loads(explanation))
            for decision_id, actions, explanation in cursor.fetchall()
        }


def deliveries_send(*, delivery_ids: Sequence[int]) -> SendOutcome:
    """Claims, renders and sends a batch; records each result with a check-and-set."""
    outcome = SendOutcome()
    now = timezone.now()
    claimed = _claim(list(delivery_ids), now, outcome)
    if not claimed:
        return outcome
    traits = message_context.customer_traits(row.customer_id for row in claimed)
    # A retried delivery keeps the code it was issued the first time.
    kept = [row for row in claimed if row.coupon is None and row.coupon_id is not None]
    if kept:
        coupons = Coupon.objects.only("id", "code").in_bulk([row.coupon_id for row in kept])
        for row in kept:
            row.coupon = coupons.get(row.coupon_id)  # type: ignore[arg-type]
    # The decision's actions and trigger only where a message uses them: staff tasks, and offers
    # whose template for the channel names an event.* placeholder.
    decisions = _decisions_details(
        row.decision_id
        for row in claimed
        if row.kind == DeliveryKind.STAFF
        or (row.offer is not None and _uses_event(row.offer, row.channel))
    )
    messages: dict[int, Message] = {}
    staff_rows = [row for row in claimed if row.kind == DeliveryKind.STAFF]
    for message in _staff_messages(staff_rows, traits, decisions) if staff_rows else []:
        messages[int(message.key)] = message
    for row in claimed:
        if row.kind == DeliveryKind.OFFER:
            explanation = decisions[row.decision_id][1] if row.decision_id in decisions else []
            event = message_context.trigger_attributes(explanation)
            messages[row.id] = _message_for(row, traits.get(row.customer_id, {}), event)
    results: dict[int, SendResult] = {}
    by_channel: dict[str, list[Message]] = defaultdict(list)
    for message in messages.values():
        by_channel[message.channel].append(message)
    lease_ends = time.monotonic() + settings.CDP_DELIVERY_SENDING_LEASE_S
    for channel, channel_messages in by_channel.items():
        backend = backend_for(channel)
        # A send that starts later could still be running when another worker, seeing the lease
        # expired, claims the row again: what is left is deferred instead (queued, not a failure).
        deadline = lease_ends - _backend_timeout(backend)
        for message, result in zip(
            channel_messages, backend.send_many(channel_messages, deadline=deadline), strict=True
        ):
            results[int(message.key)] = result
    _results_record(claimed, results, now, outcome)
    return outcome


def _backend_timeout(backend: object) -> float:
    timeout = getattr(backend, "timeout", None)
    return float(timeout()) if callable(timeout) else 5.0


def _backoff(failures: int) -> float:
    delay = settings.CDP_DELIVERY_BACKOFF_BASE_S * (2 ** max(failures - 1, 0))
    return min(delay, settings.CDP_DELIVERY_BACKOFF_MAX_S)


def _sent_record(results: Mapping[int, SendResult], claimed_at: datetime) -> list[int]:
    """The common case in one statement: ``sending`` (still our claim) → ``sent``."""
    if not results:
        return []
    ids = list(results)
    provider_ids = [results[i].provider_message_id[:200] for i in ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Delivery._meta.db_table} AS t"
            " SET status = %s, sent_at = now(), provider_message_id = v.provider_id,"
            " last_error = '', updated_at = now()"
            " FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS provider_id) AS v"
            " WHERE t.id = v.id AND t.status = %s AND t.claimed_at = %s"
            " RETURNING t.id",
            [
                DeliveryStatus.SENT,
                bigint_array(ids),
                text_array(provider_ids),
                DeliveryStatus.SENDING,
                claimed_at,
            ],
        )
        return [row[0] for row in cursor.fetchall()]


def _results_record(
    claimed: list[ClaimedRow],
    results: Mapping[int, SendResult],
    claimed_at: datetime,
    outcome: SendOutcome,
) -> None:
    sent = {i: result for i, result in results.items() if result.is_sent}
    # One check-and-set statement (its own transaction): the common case needs nothing else.
    outcome.sent.extend(_sent_record(sent, claimed_at))
    unsent = [row.id for row in claimed if row.id not in sent]
    if unsent:
        _failures_record(unsent, results, claimed_at, outcome)


@transaction.atomic
def _failures_record(
    unsent: list[int],
    results: Mapping[int, SendResult],
    claimed_at: datetime,
    outcome: SendOutcome,
) -> None:
    rows = list(
        Delivery.objects.select_for_update()
        .filter(id__in=unsent, status=DeliveryStatus.SENDING, claimed_at=claimed_at)
        .order_by("id")
    )
    now = timezone.now()
    for row in rows:
        result = results.get(row.id) or SendResult.permanent("no message was built")
        if result.is_sent:
            row.status = DeliveryStatus.SENT
            row.sent_at = now
            row.provider_message_id = result.provider_message_id[:200]
            row.last_error = ""
            outcome.sent.append(row.id)
            continue
        if result.is_deferred:
            # attempts stays counted: a row queued with attempts > 0 holds its offer limit.
            row.status = DeliveryStatus.QUEUED
            outcome.retry[0.0].append(row.id)
            continue
        row.last_error = f"{row.channel}: {result.error}"
        row.channel_failures += 1
        exhausted_here = (
            not result.is_temporary or row.channel_failures >= settings.CDP_DELIVERY_FALLBACK_AFTER
        )
        position = row.channels.index(row.channel) if row.channel in row.channels else 0
        if exhausted_here and position + 1 < len(row.channels):
            row.channel = row.channels[position + 1]
            row.channel_failures = 0
            row.status = DeliveryStatus.QUEUED
            outcome.retry[0.0 if not result.is_temporary else _backoff(1)].append(row.id)
        elif exhausted_here or row.attempts >= settings.CDP_DELIVERY_MAX_ATTEMPTS:
            row.status = DeliveryStatus.DEAD
            row.failed_at = now
            outcome.dead.append(row.id)
        else:
            row.status = DeliveryStatus.QUEUED
            outcome.retry[_backoff(row.channel_failures)].append(row.id)
    _rows_update(
        Delivery,
        rows,
        {
            "status": "text",
            "sent_at": "timestamptz",
            "provider_message_id": "text",
            "last_error": "text",
            "channel": "text",
            "channel_failures": "integer",
            "failed_at": "timestamptz",
        },
        touch=True,
    )


def _countdown_cap() -> float:
    """Celery's Redis transport hands a message still unacknowledged after the visibility
    timeout to another worker, and a message waiting for its ETA is unacknowledged: a longer
    countdown would run twice (and again, in a loop). Keep every countdown well below it."""
    return max(settings.CDP_CELERY_VISIBILITY_TIMEOUT_S / 2, 0.0)


def deliveries_enqueue(delivery_ids: Sequence[int], *, countdown: float = 0.0) -> None:
    """Schedules sends in batches of ``CDP_DELIVERY_BATCH`` (ids, never objects)."""
    from campaigns.tasks import deliveries_send_task

    size = max(settings.CDP_DELIVERY_BATCH, 1)
    ids = list(delivery_ids)
    countdown = min(countdown, _countdown_cap())
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        if countdown > 0:
            deliveries_send_task.apply_async((chunk,), countdown=countdown)
        else:
            deliveries_send_task.delay(chunk)


def deliveries_retry_schedule(outcome: SendOutcome) -> None:
    for countdown, ids in outcome.retry.items():
        deliveries_enqueue(ids, countdown=countdown)


def decision_deliver(*, decision_id: str) -> SendOutcome:
    """Creates the decision's delivery rows if need be and sends them (the one-decision path)."""
    ids = deliveries_create(decision_ids=[decision_id])
    return deliveries_send(delivery_ids=ids)


def deliveries_requeue_stuck(*, now: datetime | None = None) -> list[int]:
    """Deliveries whose worker died mid-send, or whose task was lost: enqueue them again."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.CDP_DELIVERY_SENDING_LEASE_S)
    stuck = list(
        Delivery.objects.filter(
            Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - lease)
            | Q(
                status=DeliveryStatus.QUEUED,
                updated_at__lt=now - lease - timedelta(seconds=settings.CDP_DELIVERY_BACKOFF_MAX_S),
            )
        ).values_list("id", flat=True)[:5000]
    )
    if stuck:
        deliveries_enqueue(stuck)
    return stuck


# --- after sending: receipts, clicks, dead letters ------------------------------------------

RECEIPT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    DeliveryStatus.DELIVERED: (DeliveryStatus.SENT,),
    DeliveryStatus.FAILED: (DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
}


class ReceiptRejected(ValueError):
    pass


def delivery_receipt_record(*, delivery_id: int, status: str, error: str = "") -> Delivery:
    """A provider's receipt: delivered / failed / clicked. Check-and-set, so a late or repeated
    receipt never moves a delivery backwards (delivered twice is a no-op)."""
    now = timezone.now()
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise Delivery.DoesNotExist(f"no delivery {delivery_id}")
    if status == "clicked":
        if delivery.status not in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
            raise ReceiptRejected(f"a {delivery.status} delivery cannot be clicked")
        link_click_record(delivery=delivery)
    elif status in RECEIPT_TRANSITIONS:
        if delivery.status != status:
            fields: dict[str, object] = {"status": status, "updated_at": now}
            if status == DeliveryStatus.DELIVERED:
                fields["delivered_at"] = now
            else:
                fields["failed_at"] = now
                fields["last_error"] = f"{delivery.channel}: {error or 'provider reported failure'}"
            changed = Delivery.objects.filter(
                pk=delivery_id, status__in=RECEIPT_TRANSITIONS[status]
            ).update(**fields)
            if not changed:
                raise ReceiptRejected(f"a {delivery.status} delivery cannot become {status}")
    else:
        raise ReceiptRejected(f"unknown receipt status {status!r}")
    delivery.refresh_from_db()
    return delivery


def link_click_record(*, delivery: Delivery) -> None:
    """Marks the delivery clicked (first click) and appends a ``link_clicked`` event."""
    Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=True).update(
        clicked_at=timezone.now()
    )
    event = {
        "event_id": f"click-{delivery.pk}-{uuid.uuid4().hex[:12]}",
        "type": "link_clicked",
        "customer_id": delivery.customer_id,
        "ts": time.time(),
        "attributes": {
            "delivery_id": delivery.pk,
            "decision_id": str(delivery.decision_id),
            "campaign_id": delivery.campaign_id,
            "offer": delivery.offer.slug if delivery.offer else None,
            "channel": delivery.channel,
        },
    }
    partition = streams.partition_of(delivery.customer_id)
    streams.redis_client().xadd(streams.event_stream_key(partition), {"e": _encode(event)})


def _encode(event: Mapping[str, object]) -> bytes:
    import orjson

    return orjson.dumps(event)


def link_follow(*, token: str) -> str | None:
    """The destination of a tracked link, after recording the click; None when unknown."""
    delivery = Delivery.objects.select_related("offer").filter(link_token=token).first()
    if delivery is None or delivery.offer is None or not delivery.offer.link_url:
        return None
    link_click_record(delivery=delivery)
    return delivery.offer.link_url


DEAD_LETTER_STATUSES = (DeliveryStatus.DEAD, DeliveryStatus.FAILED)


def dead_letter_retry(*, delivery_id: int) -> bool:
    """Back to the first channel with fresh attempts; enqueued once the change committed."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, status__in=DEAD_LETTER_STATUSES)
            .first()
        )
        if delivery is None:
            return False
        delivery.status = DeliveryStatus.QUEUED
        delivery.channel = delivery.channels[0] if delivery.channels else delivery.channel
        delivery.channel_failures = 0
        delivery.attempts = 0
        delivery.failed_at = None
        delivery.save(
            update_fields=[
                "status",
                "channel",
                "channel_failures",
                "attempts",
                "failed_at",
                "updated_at",
            ]
        )
        transaction.on_commit(lambda: deliveries_enqueue([delivery_id]))
    return True


def dead_letter_discard(*, delivery_id: int) -> bool:
    """Gives up; an unsent coupon goes back to its pool."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, status__in=DEAD_LETTER_STATUSES)
            .first()
        )
        if delivery is None:
            return False
        if delivery.coupon_id and delivery.status == DeliveryStatus.DEAD:
            Coupon.objects.filter(pk=delivery.coupon_id).update(
                status=CouponStatus.AVAILABLE, issued_to="", decision=None, issued_at=None
            )
            delivery.coupon = None
        delivery.status = DeliveryStatus.DISCARDED
        delivery.save(update_fields=["status", "coupon", "updated_at"])
    return True


# --- staff console -----------------------------------------------------------------------------


def staff_task_push(*, task_id: int) -> None:
    """Live push of an existing task to its team's panels (at-most-once; panels resync)."""
    task = StaffTask.objects.filter(pk=task_id).first()
    if task is None:
        return
    backend_for("staff").send(
        Message(
            channel="staff",
            key=f"task-{task.id}",
            customer_id=task.customer_id,
            team=task.team,
            body=task.message,
            html_body=staff_task_html(task),
            metadata={"task_id": task.id},
        )
    )


def staff_task_done(*, task_id: int, user: object) -> StaffTask | None:
    """Marks a task done, once; every panel of the team removes it."""
    changed = StaffTask.objects.filter(pk=task_id, is_done=False).update(
        is_done=True, done_by=user, done_at=timezone.now()
    )
    task = StaffTask.objects.filter(pk=task_id).first()
    if changed and task is not None:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        from realtime.delivery.staff import staff_group

        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(
                staff_group(task.team), {"type": "staff.done", "task_id": task.id}
            )
    return task
