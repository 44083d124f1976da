"""Reads for offers, coupon pools, deliveries and the staff console."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from campaigns.models import (
    Coupon,
    CouponPool,
    CouponStatus,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Offer,
    StaffTask,
)
from campaigns.offers.delivery import DEAD_LETTER_STATUSES


@dataclass(frozen=True, slots=True)
class PoolSummary:
    available: int
    issued: int
    redeemed: int
    low_water_mark: int
    is_exhausted: bool

    @property
    def is_low(self) -> bool:
        return self.available <= self.low_water_mark

    @property
    def total(self) -> int:
        return self.available + self.issued + self.redeemed


def offer_list(*, search: str | None = None) -> QuerySet[Offer]:
    offers = Offer.objects.select_related("merchant", "pool").annotate(
        coupons_available=Count("pool__coupons", filter=Q(pool__coupons__status="available"))
    )
    if search:
        offers = offers.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return offers


def pool_summary(*, pool: CouponPool | None) -> PoolSummary | None:
    if pool is None:
        return None
    counts = dict(
        Coupon.objects.filter(pool=pool).values_list("status").annotate(n=Count("id")).order_by()
    )
    return PoolSummary(
        available=counts.get(CouponStatus.AVAILABLE, 0),
        issued=counts.get(CouponStatus.ISSUED, 0),
        redeemed=counts.get(CouponStatus.REDEEMED, 0),
        low_water_mark=pool.low_water_mark,
        is_exhausted=pool.exhausted_at is not None,
    )


def offer_pool(offer: Offer) -> CouponPool | None:
    try:
        return offer.pool
    except CouponPool.DoesNotExist:
        return None


def dead_letter_list() -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(status__in=DEAD_LETTER_STATUSES)
        .select_related("campaign", "offer")
        .order_by("-updated_at")
    )


def delivery_list(
    *, campaign_id: int | None = None, customer_id: str | None = None, status: str | None = None
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.select_related("offer", "coupon", "campaign")
    if campaign_id:
        deliveries = deliveries.filter(campaign_id=campaign_id)
    if customer_id:
        deliveries = deliveries.filter(customer_id=customer_id)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def customer_offer_list(customer_id: str) -> QuerySet[Delivery]:
    """The offers a customer was sent or chosen for (held out and suppressed excluded), newest
    first, with the coupon code: for the customer 360 page
    (``templates/campaigns/partials/_customer_offers.html``)."""
    return (
        Delivery.objects.filter(customer_id=customer_id, kind=DeliveryKind.OFFER)
        .exclude(status__in=(DeliveryStatus.HELD_OUT,))
        .select_related("offer", "coupon", "campaign")
        .order_by("-queued_at")[:100]
    )


def staff_task_list(*, team: str, include_done: bool = False) -> QuerySet[StaffTask]:
    tasks = StaffTask.objects.filter(team=team)
    if not include_done:
        tasks = tasks.filter(is_done=False)
    return tasks.order_by("-created_at")[:200]


def delivery_status_counts(*, campaign_id: int) -> dict[str, int]:
    """Deliveries of a campaign per status (for the dashboards)."""
    return dict(
        Delivery.objects.filter(campaign_id=campaign_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
