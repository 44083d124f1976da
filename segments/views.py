"""Pages of customer profiles: the list, one customer (traits and recent events), CSV import."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cdp_site.roles import Role, role_required
from realtime.ingest.selectors import customer_recent_events
from segments import selectors, services
from segments.models import CustomerImport
from segments.tasks import customer_import_run_task

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@require_GET
@role_required(Role.MARKETER, Role.ANALYST)
def customer_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.customer_list(search=search), 50).get_page(request.GET.get("page"))
    return render(request, "segments/customer_list.html", {"page": page, "search": search})


@require_GET
@role_required(Role.MARKETER, Role.ANALYST)
def customer_detail(request: HttpRequest, customer_id: str) -> HttpResponse:
    customer = selectors.customer_get(customer_id)
    if customer is None:
        raise Http404
    events = [
        {"event": event, "at": datetime.fromtimestamp(event.ts, UTC)}
        for event in customer_recent_events(customer_id, limit=50)
    ]
    return render(
        request,
        "segments/customer_detail.html",
        {"customer": customer, "events": events, "traits": sorted(customer.traits.items())},
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.MARKETER)
def customer_import(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV file first."))
        elif upload.size > MAX_UPLOAD_BYTES:
            messages.error(request, _("The file is larger than 20 MB; split it."))
        else:
            try:
                created = services.customer_import_create(
                    file_name=upload.name or "customers.csv",
                    content=upload.read(),
                    user=request.user,
                )
            except services.ProfileError as error:
                messages.error(request, f"{error.field}: {error.error}")
            else:
                transaction.on_commit(lambda: customer_import_run_task.delay(created.pk))
                return redirect("segments:import-detail", created.pk)
    imports = selectors.customer_import_list()[:20]
    return render(request, "segments/customer_import.html", {"imports": imports})


@require_GET
@role_required(Role.MARKETER)
def customer_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress page; htmx polls the ``progress`` partial until the import finishes."""
    customer_import = get_object_or_404(CustomerImport.objects.defer("content"), pk=pk)
    template = "segments/customer_import_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"customer_import": customer_import})
