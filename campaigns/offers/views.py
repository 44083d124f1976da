"""Pages for offers, coupon pools, dead letters and the staff console (thin: services do it)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST, require_safe

from campaigns.models import Offer
from campaigns.offers import delivery, selectors, services
from campaigns.offers.forms import OfferForm, PoolGenerateForm, PoolUploadForm, PreviewForm
from campaigns.offers.rendering import RenderContext, render_line
from campaigns.offers.rendering import render as render_template
from cdp_site.roles import Role, role_required
from realtime.delivery.staff import TEAM_PATTERN

STAFF_ROLES = (Role.MARKETER, Role.ANALYST)


def _form_errors_apply(form: Any, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@role_required(Role.MARKETER)
def offer_list(request: HttpRequest) -> HttpResponse:
    offers = selectors.offer_list(search=request.GET.get("q") or None)
    template = "campaigns/offers/offer_list.html"
    if request.htmx:
        template += "#offer-table"
    return render(request, template, {"offers": offers})


@role_required(Role.MARKETER)
def offer_edit(request: HttpRequest, offer_id: int | None = None) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=offer_id) if offer_id else None
    form = OfferForm(request.POST or None, instance=offer)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if offer is None:
                offer = services.offer_create(values=values)
            else:
                offer = services.offer_update(offer=Offer.objects.get(pk=offer.pk), values=values)
        except ValidationError as error:
            _form_errors_apply(form, error)
        else:
            messages.success(request, _("Offer saved."))
            return redirect("campaigns:offer-detail", offer_id=offer.pk)
    return render(request, "campaigns/offers/offer_form.html", {"form": form, "offer": offer})


@role_required(Role.MARKETER)
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(Offer.objects.select_related("merchant"), pk=offer_id)
    pool = selectors.offer_pool(offer)
    context = {
        "offer": offer,
        "pool": pool,
        "summary": selectors.pool_summary(pool=pool),
        "generate_form": PoolGenerateForm(),
        "upload_form": PoolUploadForm(),
        "preview_form": PreviewForm(),
        "preview": _preview(offer, PreviewForm(data={})),
    }
    return render(request, "campaigns/offers/offer_detail.html", context)


def _preview(offer: Offer, form: PreviewForm) -> dict[str, str]:
    traits = {name: value for name, value in (form.data or {}).items() if isinstance(value, str)}
    if not form.is_bound or not traits:
        traits = {name: str(field.initial) for name, field in form.fields.items()}
    pool = selectors.offer_pool(offer)
    context = RenderContext.build(
        customer={**{k: traits.get(k, "") for k in PreviewForm.base_fields}, "id": "sample"},
        event={"type": "product_view", "category": "savings", "amount": 12000},
        coupon_code=(pool.pattern.replace("#", "7").replace("?", "K").replace("*", "Q"))
        if pool and pool.pattern
        else "SAMPLE-CODE",
        coupon_expires_at=pool.expires_at.strftime("%Y-%m-%d") if pool and pool.expires_at else "",
        offer_name=offer.name,
        link="https://cdp.example/r/sample",
    )
    return {
        "push_title": render_line(offer.push_title, context),
        "push_body": render_template(offer.push_body, context),
        "sms_body": render_template(offer.sms_body, context),
        "email_subject": render_line(offer.email_subject, context),
        "email_html": render_template(offer.email_body, context, escaping="html"),
    }


@role_required(Role.MARKETER)
@require_POST
def offer_preview(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=offer_id)
    form = PreviewForm(request.POST)
    return render(
        request,
        "campaigns/offers/offer_detail.html#preview",
        {"offer": offer, "preview": _preview(offer, form), "preview_form": form},
    )


@role_required(Role.MARKETER)
@require_POST
def pool_generate(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=offer_id)
    form = PoolGenerateForm(request.POST)
    if form.is_valid():
        try:
            change = services.pool_generate(offer=offer, **form.cleaned_data)
        except ValidationError as error:
            for problems in error.message_dict.values():
                messages.error(request, " ".join(problems))
        else:
            messages.success(request, _("%(n)s codes generated.") % {"n": change.added})
    else:
        for field, problems in form.errors.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
    return redirect("campaigns:offer-detail", offer_id=offer.pk)


@role_required(Role.MARKETER)
@require_POST
def pool_upload(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=offer_id)
    form = PoolUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            change = services.pool_upload(
                offer=offer,
                codes=form.codes(),
                expires_at=form.cleaned_data["expires_at"],
                low_water_mark=form.cleaned_data["low_water_mark"],
            )
        except ValidationError as error:
            for problems in error.message_dict.values():
                messages.error(request, " ".join(problems))
        else:
            messages.success(
                request,
                _("%(added)s codes added, %(duplicates)s duplicates skipped.")
                % {"added": change.added, "duplicates": change.duplicates},
            )
    return redirect("campaigns:offer-detail", offer_id=offer.pk)


@role_required(Role.MARKETER)
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    deliveries = selectors.dead_letter_list()[:500]
    template = "campaigns/offers/dead_letters.html"
    if request.htmx:
        template += "#dead-letter-table"
    return render(request, template, {"deliveries": deliveries})


@role_required(Role.MARKETER)
@require_POST
def dead_letter_action(request: HttpRequest, delivery_id: int, action: str) -> HttpResponse:
    if action == "retry":
        done = delivery.dead_letter_retry(delivery_id=delivery_id)
    elif action == "discard":
        done = delivery.dead_letter_discard(delivery_id=delivery_id)
    else:
        raise Http404
    if not done:
        messages.warning(request, _("That delivery is no longer in the dead letters."))
    if request.htmx:
        return dead_letter_list(request)
    return redirect("campaigns:dead-letters")


@role_required(*STAFF_ROLES)
@require_safe
def staff_console(request: HttpRequest, team: str) -> HttpResponse:
    if not TEAM_PATTERN.match(team):
        raise Http404
    tasks = selectors.staff_task_list(team=team)
    template = "campaigns/offers/staff_console.html"
    if request.htmx:
        template += "#staff-task-list"
    return render(request, template, {"team": team, "tasks": tasks})


@role_required(*STAFF_ROLES)
@require_POST
def staff_task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    task = delivery.staff_task_done(task_id=task_id, user=request.user)
    if task is None:
        raise Http404
    if request.htmx:
        return HttpResponse("")
    return redirect("campaigns:staff-console", team=task.team)


@require_GET
def link_follow(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the customer's click on a tracked link; records it and redirects."""
    url = delivery.link_follow(token=token)
    if url is None:
        raise Http404
    return HttpResponseRedirect(url)
