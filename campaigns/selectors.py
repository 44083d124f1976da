from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from campaigns.models import (
    AudienceEstimate,
    Campaign,
    CampaignAuditEntry,
    CampaignStatus,
    CampaignTemplate,
    CampaignVersion,
    Conversion,
    Decision,
    DecisionOutcome,
)


def campaign_list(
    *,
    status: str | None = None,
    search: str | None = None,
    owner: object | None = None,
    include_archived: bool = True,
) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.select_related("owner", "live_version")
    if status:
        campaigns = campaigns.filter(status=status)
    elif not include_archived:
        campaigns = campaigns.exclude(status=CampaignStatus.ARCHIVED)
    if search:
        campaigns = campaigns.filter(Q(name__icontains=search) | Q(description__icontains=search))
    if owner is not None:
        campaigns = campaigns.filter(owner=owner)
    return campaigns


def campaign_get(*, campaign_id: int) -> Campaign:
    return Campaign.objects.select_related(
        "owner", "live_version", "submitted_by", "approved_by", "template"
    ).get(pk=campaign_id)


def campaign_version_list(*, campaign: Campaign) -> QuerySet[CampaignVersion]:
    return campaign.versions.select_related("published_by").order_by("-number")


def campaign_version_get(*, campaign: Campaign, number: int) -> CampaignVersion:
    return campaign.versions.select_related("published_by").get(number=number)


def campaign_audit_list(*, campaign: Campaign) -> QuerySet[CampaignAuditEntry]:
    return campaign.audit_entries.select_related("user")


def decision_list(
    *, campaign_id: int | None = None, customer_id: str | None = None
) -> QuerySet[Decision]:
    decisions = Decision.objects.select_related("campaign").order_by("-occurred_at", "id")
    if campaign_id is not None:
        decisions = decisions.filter(campaign_id=campaign_id)
    if customer_id:
        decisions = decisions.filter(customer_id=customer_id)
    return decisions


def template_list() -> QuerySet[CampaignTemplate]:
    return CampaignTemplate.objects.all()


def estimate_get(*, estimate_id: int) -> AudienceEstimate:
    return AudienceEstimate.objects.select_related("campaign").get(pk=estimate_id)


def estimate_latest(*, campaign: Campaign) -> AudienceEstimate | None:
    return campaign.estimates.first()


@dataclass(frozen=True)
class TodayCounters:
    triggered: int = 0
    sent: int = 0
    converted: int = 0


def _today_start() -> dt.datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def campaign_counters_today(*, campaign_ids: Iterable[int]) -> dict[int, TodayCounters]:
    """Triggered / sent / converted today per campaign, from the decisions table (two
    aggregate queries for the whole page, indexed by (campaign, occurred_at))."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    since = _today_start()
    rows = (
        Decision.objects.filter(campaign_id__in=ids, occurred_at__gte=since)
        .values("campaign_id")
        .annotate(
            triggered=Count("id"),
            sent=Count("id", filter=Q(outcome=DecisionOutcome.OFFER)),
        )
    )
    counters = {row["campaign_id"]: (row["triggered"], row["sent"]) for row in rows}
    converted = dict(
        Conversion.objects.filter(campaign_id__in=ids, occurred_at__gte=since)
        .values("campaign_id")
        .annotate(n=Count("id"))
        .values_list("campaign_id", "n")
    )
    return {
        campaign_id: TodayCounters(
            triggered=counters.get(campaign_id, (0, 0))[0],
            sent=counters.get(campaign_id, (0, 0))[1],
            converted=converted.get(campaign_id, 0),
        )
        for campaign_id in ids
    }


def live_campaign_specs(*, exclude_id: int | None = None) -> list[tuple[Campaign, dict]]:
    """Published campaigns with their live spec: who a draft would collide with."""
    campaigns = Campaign.objects.filter(
        status=CampaignStatus.PUBLISHED, live_version__isnull=False
    ).select_related("live_version")
    if exclude_id is not None:
        campaigns = campaigns.exclude(pk=exclude_id)
    return [(c, c.live_version.spec) for c in campaigns if c.live_version is not None]
