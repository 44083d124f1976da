from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns import selectors
from campaigns.models import CampaignStatus
from cdp_site.roles import Role, role_required


@role_required(Role.MARKETER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    search = request.GET.get("q") or None
    campaigns = selectors.campaign_list(status=status, search=search)
    context = {"campaigns": campaigns, "statuses": CampaignStatus.choices, "status": status}
    template = "campaigns/campaign_list.html"
    if request.htmx:
        template += "#campaign-table"
    return render(request, template, context)


@role_required(Role.ANALYST, Role.MARKETER)
def dashboard_overview(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.campaign_list().exclude(status=CampaignStatus.DRAFT)
    return render(request, "campaigns/dashboard_overview.html", {"campaigns": campaigns})
