"""Pages of event collection: live explorer, event types, sources and keys, tracker install."""

from __future__ import annotations

import orjson
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cdp_site.roles import Role, role_required, user_has_role
from realtime.ingest import selectors, services
from realtime.models import EventType, Source


@require_GET
@role_required(Role.MARKETER, Role.ANALYST)
def event_explorer(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "realtime/event_explorer.html",
        {"event_types": selectors.event_type_list().values_list("name", flat=True)},
    )


def _validation_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(problems)}" for field, problems in error.message_dict.items()
        )
    return " ".join(error.messages)


@require_http_methods(["GET", "POST"])
@role_required(Role.MARKETER, Role.ANALYST)
def event_type_list(request: HttpRequest) -> HttpResponse:
    """The registry; marketers add and change types (attributes edited as a JSON list)."""
    form = {"name": "", "description": "", "attributes": "[]"}
    if request.method == "POST":
        if not user_has_role(request.user, Role.MARKETER):
            return HttpResponse(status=403)
        form = {key: request.POST.get(key, "") for key in form}
        try:
            attributes = orjson.loads(form["attributes"] or "[]")
        except orjson.JSONDecodeError as error:
            messages.error(
                request, _("Attributes are not valid JSON: %(error)s") % {"error": error}
            )
        else:
            existing = EventType.objects.filter(name=form["name"]).first()
            try:
                if existing is None:
                    services.event_type_create(
                        name=form["name"].strip(),
                        description=form["description"],
                        attributes=attributes,
                        user=request.user,
                    )
                else:
                    services.event_type_update(
                        event_type=existing,
                        description=form["description"],
                        attributes=attributes,
                    )
            except ValidationError as error:
                messages.error(request, _validation_text(error))
            else:
                messages.success(request, _("Event type %(name)s saved.") % form)
                return redirect("event-types")
    edit = request.GET.get("edit")
    if edit and request.method == "GET":
        chosen = get_object_or_404(EventType, name=edit)
        form = {
            "name": chosen.name,
            "description": chosen.description,
            "attributes": orjson.dumps(chosen.attributes, option=orjson.OPT_INDENT_2).decode(),
        }
    return render(
        request,
        "realtime/event_types.html",
        {"event_types": selectors.event_type_list(), "form": form, "editing": bool(edit)},
    )


@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def source_list(request: HttpRequest) -> HttpResponse:
    new_key = None
    if request.method == "POST":
        try:
            rate = int(request.POST.get("rate_limit_per_second") or 200)
            source, new_key = services.source_create(
                name=request.POST.get("name", ""), user=request.user, rate_limit_per_second=rate
            )
        except (ValueError, ValidationError) as error:
            text = _validation_text(error) if isinstance(error, ValidationError) else str(error)
            messages.error(request, text)
        else:
            messages.success(request, _("Source %(name)s created.") % {"name": source.name})
    response = render(
        request,
        "realtime/sources.html",
        {"sources": selectors.source_list(), "new_key": new_key},
    )
    response["Cache-Control"] = "no-store"  # the page may show a key once
    return response


@require_POST
@role_required(Role.ADMIN)
def source_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    source = services.source_revoke(source=get_object_or_404(Source, pk=pk))
    messages.success(request, _("The key of %(name)s is revoked.") % {"name": source.name})
    return redirect("sources")


@require_GET
@role_required(Role.MARKETER, Role.ANALYST)
def tracker_install(request: HttpRequest) -> HttpResponse:
    endpoint = request.build_absolute_uri("/api/v1/events")
    script = request.build_absolute_uri("/static/cdp-tracker.js")
    return render(
        request, "realtime/tracker_install.html", {"endpoint": endpoint, "script": script}
    )
