"""Merchant reads. Everything a merchant user sees goes through a selector that takes the
merchant: another merchant's object is simply not found (404), never "forbidden" (which would
confirm that it exists).

Reports and reach estimates are aggregates only; a count below the bank's minimum group size
is withheld (``None``), and so is any figure derived from such a small group (revenue).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.catalog import TRIGGERS, bounds
from merchants.models import (
    AreaKind,
    DiscountKind,
    Gender,
    Merchant,
    MerchantOffer,
    MerchantOfferEvent,
    MerchantOfferStatus,
    Store,
)
from merchants.services import OfferInput

WON = Decimal(1)  # reports are in whole won


def merchant_of(user: Any) -> Merchant | None:
    """The merchant a merchant-role user belongs to (None for bank staff)."""
    membership = getattr(user, "merchant_membership", None) if user.is_authenticated else None
    return membership.merchant if membership is not None else None


def merchant_list() -> QuerySet[Merchant]:
    return Merchant.objects.annotate(
        store_count=Count("stores", distinct=True), user_count=Count("memberships", distinct=True)
    )


def merchant_get(*, merchant_id: int) -> Merchant:
    try:
        return Merchant.objects.get(pk=merchant_id)
    except Merchant.DoesNotExist as missing:
        raise Http404("No such merchant.") from missing


def store_list(*, merchant: Merchant) -> QuerySet[Store]:
    return Store.objects.filter(merchant=merchant)


def store_get(*, merchant: Merchant, store_id: int) -> Store:
    try:
        return Store.objects.get(merchant=merchant, pk=store_id)
    except Store.DoesNotExist as missing:
        raise Http404("No such store.") from missing


def merchant_offer_list(
    *, merchant: Merchant, status: str | None = None
) -> QuerySet[MerchantOffer]:
    offers = MerchantOffer.objects.filter(merchant=merchant).select_related("store")
    return offers.filter(status=status) if status else offers


def merchant_offer_get(*, merchant: Merchant, offer_id: int) -> MerchantOffer:
    """The merchant's own offer; any other id (another merchant's included) is a 404."""
    try:
        return MerchantOffer.objects.select_related("merchant", "store", "campaign").get(
            merchant=merchant, pk=offer_id
        )
    except MerchantOffer.DoesNotExist as missing:
        raise Http404("No such offer.") from missing


def review_offer_list(
    *, status: str | None = MerchantOfferStatus.PENDING
) -> QuerySet[MerchantOffer]:
    """Merchant offers as the bank's marketers see them (all merchants)."""
    offers = MerchantOffer.objects.select_related("merchant", "store", "campaign")
    if status:
        offers = offers.filter(status=status)
    return offers.order_by("submitted_at", "id") if status else offers


def review_offer_get(*, offer_id: int) -> MerchantOffer:
    try:
        return MerchantOffer.objects.select_related("merchant", "store", "campaign").get(
            pk=offer_id
        )
    except MerchantOffer.DoesNotExist as missing:
        raise Http404("No such offer.") from missing


def merchant_offer_events(*, offer: MerchantOffer) -> QuerySet[MerchantOfferEvent]:
    return offer.events.select_related("user")


# --- reach ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    count: int | None  # None when below the minimum group size
    min_group_size: int
    basis: str  # what was counted, in words

    @property
    def is_small(self) -> bool:
        return self.count is None


def merchant_offer_reach(*, merchant: Merchant, values: OfferInput) -> Reach:
    """Customers whose profile matches the target and area (home region), counted in SQL."""
    from segments.models import Customer

    minimum = bounds().min_group_size
    customers = Customer.objects.all()
    if values.age_min is not None:
        customers = customers.filter(traits__age__gte=values.age_min)
    if values.age_max is not None:
        customers = customers.filter(traits__age__lte=values.age_max)
    if values.gender in (Gender.FEMALE, Gender.MALE):
        customers = customers.filter(traits__gender=values.gender)
    if values.segments:
        customers = customers.filter(traits__segment_tier__in=list(values.segments))
    regions: list[str] = []
    if values.area_kind == AreaKind.RADIUS and values.store_id is not None:
        store = Store.objects.filter(merchant=merchant, pk=values.store_id).first()
        regions = [store.region] if store is not None else []
    else:
        regions = list(values.regions)
    if regions:
        customers = customers.filter(traits__region__in=regions)
    count = customers.count()
    template = TRIGGERS.get(values.trigger)
    if template is not None and template.area == "event":
        basis = _(
            "customers whose profile matches the target and who live in the area "
            "(the offer itself goes to whoever triggers it there)"
        )
    else:
        basis = _("customers whose profile matches the target and who live in the area")
    return Reach(count=count if count >= minimum else None, min_group_size=minimum, basis=basis)


# --- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferFigures:
    offer_id: int
    title: str
    status: str
    status_label: str
    issued: int | None
    redeemed: int | None
    redemption_rate: float | None
    revenue: Decimal | None
    discount_cost: Decimal | None
    #: The control group (customers held out of the offer) and the share of them who bought at
    #: the merchant anyway within the same window; None without a holdout or below the minimum.
    control: int | None = None
    control_rate: float | None = None
    has_control: bool = False


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    issued: int | None
    redeemed: int | None


@dataclass(frozen=True)
class StoreFigures:
    store_id: int | None  # None: a transaction whose store is not known (yet)
    name: str
    redeemed: int | None
    revenue: Decimal | None


@dataclass(frozen=True)
class MerchantReport:
    offers: list[OfferFigures]
    days: list[DayFigures]
    stores: list[StoreFigures]
    min_group_size: int
    total_issued: int | None
    total_redeemed: int | None
    total_revenue: Decimal | None


def _shown(count: int, minimum: int) -> int | None:
    return count if count >= minimum else None


def _discount_cost(offer: MerchantOffer, first_amounts: list[Decimal]) -> Decimal:
    if offer.discount_kind == DiscountKind.PERCENT:
        return sum(
            (amount * offer.discount_value / 100 for amount in first_amounts), Decimal(0)
        ).quantize(WON)
    return sum(
        (min(amount, offer.discount_value) for amount in first_amounts), Decimal(0)
    ).quantize(WON)


def merchant_report(*, merchant: Merchant, offer_id: int | None = None) -> MerchantReport:
    """Issued and redeemed coupons, redemption rate, revenue and the discounts' cost.

    Issued: the engine's offer decisions. Redeemed: offered decisions with a conversion (a card
    transaction at this merchant within the coupon's validity); the first one is the
    redemption, revenue counts every such transaction. Nothing here names a customer.
    """
    from campaigns.models import Conversion, Decision, DecisionOutcome

    minimum = bounds().min_group_size
    offers = list(
        MerchantOffer.objects.filter(merchant=merchant, campaign__isnull=False).order_by("-id")
    )
    if offer_id is not None:
        offers = [offer for offer in offers if offer.pk == offer_id]
        if not offers:
            raise Http404("No such offer.")
    by_campaign = {offer.campaign_id: offer for offer in offers}
    offered = Decision.objects.filter(
        campaign_id__in=list(by_campaign), outcome=DecisionOutcome.OFFER
    )
    issued = dict(offered.values_list("campaign_id").annotate(n=Count("id")).order_by())
    held_out = Decision.objects.filter(
        campaign_id__in=list(by_campaign), outcome=DecisionOutcome.HELD_OUT
    )
    control = dict(held_out.values_list("campaign_id").annotate(n=Count("id")).order_by())
    control_converted = dict(
        held_out.filter(conversions__isnull=False)
        .values_list("campaign_id")
        .annotate(n=Count("id", distinct=True))
        .order_by()
    )
    conversions = Conversion.objects.filter(
        campaign_id__in=list(by_campaign), decision__outcome=DecisionOutcome.OFFER
    )
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    first_amounts: dict[int, list[Decimal]] = defaultdict(list)
    redeemed_days: dict[dt.date, int] = defaultdict(int)
    seen: set[object] = set()
    rows = conversions.order_by("decision_id", "occurred_at").values_list(
        "campaign_id", "decision_id", "revenue", "occurred_at"
    )
    for campaign_id, decision_id, amount, occurred_at in rows.iterator(chunk_size=2000):
        revenue[campaign_id] += amount or Decimal(0)
        if decision_id not in seen:
            seen.add(decision_id)
            first_amounts[campaign_id].append(amount or Decimal(0))
            redeemed_days[timezone.localdate(occurred_at)] += 1
    figures: list[OfferFigures] = []
    for campaign_id, offer in by_campaign.items():
        n_issued = issued.get(campaign_id, 0)
        n_redeemed = len(first_amounts[campaign_id])
        is_shown = n_redeemed >= minimum
        n_control = control.get(campaign_id, 0)
        n_control_converted = control_converted.get(campaign_id, 0)
        figures.append(
            OfferFigures(
                offer_id=offer.pk,
                title=offer.title,
                status=offer.status,
                status_label=offer.get_status_display(),
                issued=_shown(n_issued, minimum),
                redeemed=_shown(n_redeemed, minimum),
                redemption_rate=(
                    round(n_redeemed / n_issued, 4) if is_shown and n_issued >= minimum else None
                ),
                revenue=revenue[campaign_id].quantize(WON) if is_shown else None,
                discount_cost=_discount_cost(offer, first_amounts[campaign_id])
                if is_shown
                else None,
                control=_shown(n_control, minimum),
                has_control=n_control > 0,
                control_rate=(
                    round(n_control_converted / n_control, 4)
                    if n_control >= minimum and n_control_converted >= minimum
                    else None
                ),
            )
        )
    issued_days = dict(
        offered.annotate(day=TruncDate("occurred_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    all_days = sorted(set(issued_days) | set(redeemed_days))
    days = [
        DayFigures(
            day=day,
            issued=_shown(issued_days.get(day, 0), minimum),
            redeemed=_shown(redeemed_days.get(day, 0), minimum),
        )
        for day in all_days
    ]
    total_issued = sum(issued.values())
    total_redeemed = len(seen)
    return MerchantReport(
        offers=figures,
        days=days,
        stores=_store_figures(merchant, list(by_campaign), minimum),
        min_group_size=minimum,
        total_issued=_shown(total_issued, minimum),
        total_redeemed=_shown(total_redeemed, minimum),
        total_revenue=(
            sum(revenue.values(), Decimal(0)).quantize(WON) if total_redeemed >= minimum else None
        ),
    )


def pending_review_count() -> int:
    return MerchantOffer.objects.filter(status=MerchantOfferStatus.PENDING).count()


@dataclass(frozen=True)
class RulePreview:
    spec_json: str
    problems: list[str]
    is_live_version: bool


def merchant_offer_rule_preview(*, offer: MerchantOffer) -> RulePreview:
    """The rule the offer runs as (its live version once approved), and what would stop it."""
    import json

    from django.conf import settings

    from campaigns.spec.validation import spec_problems
    from merchants.spec import merchant_offer_to_spec

    live = offer.campaign.live_version if offer.campaign is not None else None
    if live is not None:
        return RulePreview(json.dumps(live.spec, indent=2, ensure_ascii=False), [], True)
    spec = merchant_offer_to_spec(offer, holdout=float(settings.CDP_MERCHANT_HOLDOUT))
    # its offer (and coupon pool) is created on approval, so it cannot be known yet
    problems = [p.message for p in spec_problems(spec) if p.code != "unknown_offer"]
    return RulePreview(json.dumps(spec, indent=2, ensure_ascii=False), problems, False)


#: Redemptions by the store of their card transaction (the ``store_id`` attribute of the
#: archived event; the card switch sends the bank's store id). First conversion per decision.
_BY_STORE = """
SELECT COALESCE(archive.attributes ->> 'store_id', ''), count(*), COALESCE(sum(first.revenue), 0)
FROM (
    SELECT DISTINCT ON (conversion.decision_id)
           conversion.event_id, conversion.occurred_at, conversion.revenue
    FROM campaigns_conversion conversion
    JOIN campaigns_decision decision ON decision.id = conversion.decision_id
    WHERE conversion.campaign_id = ANY(%s) AND decision.outcome = 'offer'
    ORDER BY conversion.decision_id, conversion.occurred_at
) first
LEFT JOIN realtime_event_archive archive
       ON archive.event_id = first.event_id AND archive.ts = first.occurred_at
GROUP BY 1
"""


def _store_figures(merchant: Merchant, campaign_ids: list[int], minimum: int) -> list[StoreFigures]:
    from django.db import connection

    if not campaign_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_BY_STORE, [campaign_ids])
        rows = cursor.fetchall()
    names = dict(Store.objects.filter(merchant=merchant).values_list("pk", "name"))
    counts: dict[int | None, tuple[int, Decimal]] = {}
    for raw_id, count, revenue in rows:
        store_id = int(raw_id) if str(raw_id).isdigit() and int(raw_id) in names else None
        before = counts.get(store_id, (0, Decimal(0)))
        counts[store_id] = (before[0] + count, before[1] + Decimal(revenue))
    figures = []
    for store_id, (count, revenue) in sorted(counts.items(), key=lambda item: -item[1][0]):
        shown = count >= minimum
        figures.append(
            StoreFigures(
                store_id=store_id,
                name=names[store_id] if store_id is not None else _("Store not known"),
                redeemed=count if shown else None,
                revenue=revenue.quantize(WON) if shown else None,
            )
        )
    return figures
