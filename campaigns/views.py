from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns import selectors
from campaigns.models import CampaignStatus
from cdp_site.roles import Role, role_required, user_has_role


@role_required(Role.MARKETER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    search = request.GET.get("q") or None
    owner = request.GET.get("owner") or None
    campaigns = list(
        selectors.campaign_list(
            status=status,
            search=search,
            owner=request.user if owner == "me" else None,
            include_archived=False,
        )[:200]
    )
    counters = selectors.campaign_counters_today(campaign_ids=[c.pk for c in campaigns])
    context = {
        "rows": [{"campaign": c, "counters": counters[c.pk]} for c in campaigns],
        "statuses": CampaignStatus.choices,
        "status": status,
        "owner": owner,
        "can_edit": user_has_role(request.user, Role.MARKETER),
    }
    template = "campaigns/campaign_list.html"
    if request.htmx:
        template += "#campaign-table"
    return render(request, template, context)
