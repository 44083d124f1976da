from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cdp_site.roles import Role, role_required
from merchants.models import Merchant


@role_required(Role.MERCHANT)
def portal_home(request: HttpRequest) -> HttpResponse:
    membership = getattr(request.user, "merchant_membership", None)
    merchant: Merchant | None = membership.merchant if membership else None
    return render(request, "merchants/portal_home.html", {"merchant": merchant})
