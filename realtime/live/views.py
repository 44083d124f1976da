"""The Engine page: workers, partitions (lag, rates, timers) and dead letters, refreshed live."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cdp_site.roles import Role, role_required
from realtime.live.selectors import engine_status


@require_GET
@role_required(Role.ADMIN, Role.MARKETER)
def engine_page(request: HttpRequest) -> HttpResponse:
    template = "realtime/engine.html"
    if request.htmx:
        template += "#figures"
    return render(request, template, {"status": engine_status()})
