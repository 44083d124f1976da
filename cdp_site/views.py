"""Site-wide pages: the role-aware home redirect and the error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from cdp_site.roles import Role, primary_role

ROLE_HOME = {
    Role.ADMIN: "campaigns:list",
    Role.MARKETER: "campaigns:list",
    Role.ANALYST: "campaigns:dashboards",
    Role.MERCHANT: "merchants:portal",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    role = primary_role(request.user)
    if role is None:
        return render(request, "no_role.html", status=403)
    return redirect(ROLE_HOME[role])


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)
