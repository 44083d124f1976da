from __future__ import annotations

from django.db.models import QuerySet

from campaigns.models import Campaign


def campaign_list(*, status: str | None = None, search: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.select_related("owner", "live_version")
    if status:
        campaigns = campaigns.filter(status=status)
    if search:
        campaigns = campaigns.filter(name__icontains=search)
    return campaigns
