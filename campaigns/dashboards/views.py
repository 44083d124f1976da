"""Dashboard pages: the overview across campaigns, a campaign's dashboard, segments, exports.

Analysts and marketers read them (analysts change nothing anywhere: these pages only read);
merchants get 403. A campaign that does not exist gives 404, never figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from campaigns.dashboards import csv_export, selectors
from campaigns.models import Campaign
from cdp_site.roles import Role, role_required

DASHBOARD_ROLES = (Role.ANALYST, Role.MARKETER)


class BadInput(ValueError):
    """A query parameter with a value the page cannot use; the message names the parameter."""


def _bad_input_as_400(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except BadInput as error:
            return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")

    return wrapper


def _range(request: HttpRequest) -> selectors.DashboardRange:
    try:
        return selectors.range_parse(request.GET.get("range"))
    except ValueError as error:
        raise BadInput(str(error)) from error


def _campaign(campaign_id: int) -> Campaign:
    campaign = selectors.dashboard_campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404(_("No such campaign."))
    return campaign


@role_required(*DASHBOARD_ROLES)
@require_safe
@_bad_input_as_400
def dashboard_overview(request: HttpRequest) -> HttpResponse:
    range_ = _range(request)
    context = {
        "range": range_,
        "ranges": selectors.RANGE_CHOICES,
        "rows": selectors.overview_rows(range_=range_),
        "alerts": selectors.overview_alerts(),
    }
    template = "campaigns/dashboards/overview.html"
    if request.htmx:
        template += "#overview-body"
    return render(request, template, context)


@role_required(*DASHBOARD_ROLES)
@require_safe
@_bad_input_as_400
def campaign_dashboard(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    range_ = _range(request)
    figures = selectors.campaign_figures(campaign=campaign, range_=range_)
    share_url = request.build_absolute_uri(
        reverse("campaigns:dashboard", args=[campaign.id]) + f"?range={range_.key}"
    )
    context = {
        "campaign": campaign,
        "range": range_,
        "ranges": selectors.RANGE_CHOICES,
        "figures": figures,
        "share_url": share_url,
        "traits": selectors.segment_traits(),
        "segments": None,  # loaded by the page itself (htmx), so the dashboard answers fast
        "websocket_path": f"/ws/campaigns/{campaign.id}/dashboard?range={range_.key}",
    }
    return render(request, "campaigns/dashboards/campaign.html", context)


@role_required(*DASHBOARD_ROLES)
@require_safe
@_bad_input_as_400
def campaign_segments(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign(campaign_id)
    range_ = _range(request)
    traits = selectors.segment_traits()
    trait = request.GET.get("trait") or (traits[0] if traits else selectors.AGE_BAND)
    if trait not in traits and trait != selectors.AGE_BAND:
        raise BadInput(_("trait: no customer profile has the trait %(trait)s.") % {"trait": trait})
    context = {
        "campaign": campaign,
        "range": range_,
        "trait": trait,
        "traits": traits,
        "segments": selectors.campaign_segments(campaign=campaign, range_=range_, trait=trait),
    }
    return render(request, "campaigns/dashboards/campaign.html#segments", context)


def _stream(filename: str, rows: Iterable[Iterable[object]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_export.csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(*DASHBOARD_ROLES)
@require_safe
@_bad_input_as_400
def campaign_export(request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
    campaign = _campaign(campaign_id)
    range_ = _range(request)
    table = request.GET.get("table", "series")
    rows: Iterator[Iterable[object]]
    if table == "segments":
        traits = selectors.segment_traits()
        trait = request.GET.get("trait") or (traits[0] if traits else selectors.AGE_BAND)
        segments = selectors.campaign_segments(campaign=campaign, range_=range_, trait=trait)
        rows = csv_export.segment_rows(segments, trait=trait)
    elif table == "decisions":
        rows = csv_export.decision_rows(
            selectors.decisions_export_rows(campaign=campaign, range_=range_)
        )
    elif table in csv_export.FIGURE_TABLES:
        figures = selectors.campaign_figures(campaign=campaign, range_=range_)
        rows = csv_export.FIGURE_TABLES[table](figures)
    else:
        choices = ", ".join([*csv_export.FIGURE_TABLES, "segments", "decisions"])
        raise BadInput(f"table: expected one of {choices}; got {table!r}")
    return _stream(f"campaign-{campaign.id}-{table}-{range_.key}.csv", rows)


@role_required(*DASHBOARD_ROLES)
@require_safe
@_bad_input_as_400
def overview_export(request: HttpRequest) -> StreamingHttpResponse:
    range_ = _range(request)
    table = request.GET.get("table", "campaigns")
    if table == "campaigns":
        rows = csv_export.overview_rows(selectors.overview_rows(range_=range_))
    elif table == "alerts":
        rows = csv_export.alert_rows(selectors.overview_alerts())
    else:
        raise BadInput(f"table: expected campaigns or alerts; got {table!r}")
    return _stream(f"campaigns-{table}-{range_.key}.csv", rows)
