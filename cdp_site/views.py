"""Site-wide pages: the role-aware home redirect and the error pages."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from cdp_site.roles import Role, primary_role

logger = logging.getLogger(__name__)

ROLE_HOME = {
    Role.ADMIN: "campaigns:list",
    Role.MARKETER: "campaigns:list",
    Role.ANALYST: "campaigns:dashboards",
    Role.MERCHANT: "merchants:portal",
}


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    role = primary_role(request.user)
    if role is None:
        return render(request, "no_role.html", status=403)
    return redirect(ROLE_HOME[role])


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Never a stack trace: API clients get JSON; pages the 500 page, or plain text when even
    that cannot render (its layout reads the user's roles from a database that may be down)."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": "Server error. It has been logged."}, status=500)
    try:
        return render(request, "500.html", status=500)
    except Exception:
        logger.exception("The 500 page itself failed to render.")
        return HttpResponseServerError(
            "Server error. It has been logged.", content_type="text/plain; charset=utf-8"
        )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)
