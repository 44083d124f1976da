"""Merchant portal, the bank's review of merchant offers, and the admin's merchant pages.

Thin: parse, call one service or selector, render. Every merchant page looks the offer up
through a selector that takes the caller's merchant, so another merchant's id is a 404.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cdp_site.roles import Role, role_required
from merchants import selectors, services
from merchants.catalog import TRIGGERS, WEEKDAYS, bounds, exposed_segments
from merchants.forms import (
    DecisionForm,
    InviteForm,
    MerchantForm,
    OfferForm,
    StoreForm,
    offer_initial,
)
from merchants.models import Merchant, MerchantOffer, MerchantOfferStatus


def _merchant(request: HttpRequest) -> Merchant:
    merchant = selectors.merchant_of(request.user)
    if merchant is None:
        raise Http404("This account is not linked to a merchant.")
    return merchant


def _errors_to_form(form: Form, error: ValidationError) -> None:
    for name, messages_ in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages_)


def _offer_context(offer: MerchantOffer) -> dict[str, Any]:
    return {
        "offer": offer,
        "trigger": TRIGGERS.get(offer.trigger),
        "weekdays": [WEEKDAYS[day] for day in offer.days_of_week],
        "segment_labels": [exposed_segments().get(s, s) for s in offer.segments],
        "events": selectors.merchant_offer_events(offer=offer),
    }


# --- merchant portal ------------------------------------------------------------------------


@role_required(Role.MERCHANT)
def portal_home(request: HttpRequest) -> HttpResponse:
    merchant = selectors.merchant_of(request.user)
    if merchant is None:
        return render(request, "merchants/portal_home.html", {"merchant": None})
    return render(
        request,
        "merchants/portal_home.html",
        {
            "merchant": merchant,
            "offers": selectors.merchant_offer_list(merchant=merchant),
            "stores": selectors.store_list(merchant=merchant),
        },
    )


def _builder(
    request: HttpRequest, merchant: Merchant, form: OfferForm, offer: MerchantOffer | None
) -> HttpResponse:
    reach = (
        selectors.merchant_offer_reach(merchant=merchant, values=form.lenient_input())
        if (form.is_bound)
        else None
    )
    if offer is not None and reach is None:
        bound = OfferForm(
            data=offer_initial(offer), stores=list(selectors.store_list(merchant=merchant))
        )
        reach = selectors.merchant_offer_reach(merchant=merchant, values=bound.lenient_input())
    return render(
        request,
        "merchants/offer_form.html",
        {
            "merchant": merchant,
            "form": form,
            "offer": offer,
            "bounds": bounds(),
            "triggers": TRIGGERS,
            "reach": reach,
        },
    )


@role_required(Role.MERCHANT)
def offer_create(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    stores = list(selectors.store_list(merchant=merchant))
    if request.method != "POST":
        return _builder(request, merchant, OfferForm(stores=stores), None)
    form = OfferForm(request.POST, request.FILES, stores=stores)
    if form.is_valid():
        try:
            offer = services.merchant_offer_create(
                merchant=merchant, user=request.user, values=form.to_input()
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            if request.POST.get("then") == "submit":
                return _submit(request, offer)
            messages.success(request, _("The offer was saved as a draft."))
            return redirect("merchants:offer", offer_id=offer.pk)
    return _builder(request, merchant, form, None)


@role_required(Role.MERCHANT)
def offer_edit(request: HttpRequest, offer_id: int) -> HttpResponse:
    merchant = _merchant(request)
    offer = selectors.merchant_offer_get(merchant=merchant, offer_id=offer_id)
    stores = list(selectors.store_list(merchant=merchant))
    if not offer.is_editable:
        messages.warning(request, _("Only drafts and offers sent back for changes can be edited."))
        return redirect("merchants:offer", offer_id=offer.pk)
    if request.method != "POST":
        return _builder(
            request, merchant, OfferForm(initial=offer_initial(offer), stores=stores), offer
        )
    form = OfferForm(request.POST, request.FILES, stores=stores)
    if form.is_valid():
        try:
            offer = services.merchant_offer_update(
                offer=offer, user=request.user, values=form.to_input()
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        except services.TransitionRefused as refused:
            messages.error(request, refused.message)
            return redirect("merchants:offer", offer_id=offer.pk)
        else:
            if request.POST.get("then") == "submit":
                return _submit(request, offer)
            messages.success(request, _("Your changes were saved."))
            return redirect("merchants:offer", offer_id=offer.pk)
    return _builder(request, merchant, form, offer)


@role_required(Role.MERCHANT)
@require_POST
def offer_reach(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    form = OfferForm(request.POST, stores=list(selectors.store_list(merchant=merchant)))
    reach = selectors.merchant_offer_reach(merchant=merchant, values=form.lenient_input())
    return render(request, "merchants/offer_form.html#reach", {"reach": reach})


@role_required(Role.MERCHANT)
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    merchant = _merchant(request)
    offer = selectors.merchant_offer_get(merchant=merchant, offer_id=offer_id)
    return render(
        request, "merchants/offer_detail.html", {"merchant": merchant, **_offer_context(offer)}
    )


def _submit(request: HttpRequest, offer: MerchantOffer) -> HttpResponse:
    try:
        services.merchant_offer_submit(offer=offer, user=request.user)
    except ValidationError as error:
        for text in error.message_dict.values():
            messages.error(request, " ".join(text))
        return redirect("merchants:offer_edit", offer_id=offer.pk)
    except services.TransitionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Submitted: the bank will review your offer."))
    return redirect("merchants:offer", offer_id=offer.pk)


@role_required(Role.MERCHANT)
@require_POST
def offer_submit(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = selectors.merchant_offer_get(merchant=_merchant(request), offer_id=offer_id)
    return _submit(request, offer)


def _lifecycle(request: HttpRequest, offer: MerchantOffer, step: str, target: str) -> HttpResponse:
    service = services.merchant_offer_pause if step == "pause" else services.merchant_offer_resume
    try:
        service(offer=offer, user=request.user, comment=request.POST.get("comment", ""))
    except services.TransitionRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, _("The offer is paused.") if step == "pause" else _("The offer is live again.")
        )
    return redirect(target, offer_id=offer.pk)


@role_required(Role.MERCHANT)
@require_POST
def offer_pause(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = selectors.merchant_offer_get(merchant=_merchant(request), offer_id=offer_id)
    return _lifecycle(request, offer, "pause", "merchants:offer")


@role_required(Role.MERCHANT)
@require_POST
def offer_resume(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = selectors.merchant_offer_get(merchant=_merchant(request), offer_id=offer_id)
    return _lifecycle(request, offer, "resume", "merchants:offer")


def _image_response(offer: MerchantOffer) -> HttpResponse:
    if not offer.image or not offer.image_content_type.startswith("image/"):
        raise Http404("This offer has no image.")
    response = HttpResponse(bytes(offer.image), content_type=offer.image_content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "private, max-age=300"
    return response


@role_required(Role.MERCHANT)
def offer_image(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = selectors.merchant_offer_get(merchant=_merchant(request), offer_id=offer_id)
    return _image_response(offer)


@role_required(Role.MERCHANT)
def report(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    figures = selectors.merchant_report(merchant=merchant)
    chart = {
        "labels": [day.day.isoformat() for day in figures.days],
        "issued": [day.issued for day in figures.days],
        "redeemed": [day.redeemed for day in figures.days],
    }
    return render(
        request, "merchants/report.html", {"merchant": merchant, "report": figures, "chart": chart}
    )


@role_required(Role.MERCHANT)
def report_csv(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    figures = selectors.merchant_report(merchant=merchant)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="offer-report.csv"'
    writer = csv.writer(response)
    hidden = f"<{figures.min_group_size}"
    writer.writerow(
        ["offer", "title", "status", "issued", "redeemed", "redemption_rate", "revenue_krw",
         "discount_cost_krw", "control_group", "control_rate"]
    )  # fmt: skip
    for row in figures.offers:
        values = [row.issued, row.redeemed, row.redemption_rate, row.revenue, row.discount_cost]
        control = [row.control, row.control_rate] if row.has_control else ["", ""]
        # A leading = + - @ would make a spreadsheet run the title as a formula.
        title = "'" + row.title if row.title[:1] in ("=", "+", "-", "@") else row.title
        writer.writerow(
            [row.offer_id, title, row.status]
            + [hidden if v is None else v for v in [*values, *control]]
        )
    writer.writerow([])
    writer.writerow(["store", "redeemed", "revenue_krw"])
    for store in figures.stores:
        writer.writerow(
            [store.name, *[hidden if v is None else v for v in (store.redeemed, store.revenue)]]
        )
    writer.writerow([])
    writer.writerow(["day", "issued", "redeemed"])
    for day in figures.days:
        writer.writerow(
            [day.day.isoformat(), *[hidden if v is None else v for v in (day.issued, day.redeemed)]]
        )
    return response


@role_required(Role.MERCHANT)
def api_token(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    token = None
    if request.method == "POST":
        token = services.merchant_api_token_rotate(user=request.user)
    return render(request, "merchants/api_token.html", {"merchant": merchant, "token": token})


def welcome(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The one-time link of an invited merchant user: choose a password, then log in."""
    user_model = get_user_model()
    try:
        user = user_model.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError, user_model.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "merchants/welcome.html", {"invalid": True}, status=400)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your password is set; log in with it."))
        return redirect("login")
    return render(request, "merchants/welcome.html", {"form": form, "invited": user})


# --- the bank's review ----------------------------------------------------------------------


@role_required(Role.MARKETER)
def review_list(request: HttpRequest) -> HttpResponse:
    if selectors.merchant_of(request.user) is not None:
        raise PermissionDenied
    return render(
        request,
        "merchants/review_list.html",
        {
            "pending": selectors.review_offer_list(),
            "recent": selectors.review_offer_list(status=None).exclude(
                status=MerchantOfferStatus.PENDING
            )[:30],
        },
    )


@role_required(Role.MARKETER)
def review_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    if selectors.merchant_of(request.user) is not None:
        raise PermissionDenied
    offer = selectors.review_offer_get(offer_id=offer_id)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decision = request.POST.get("decision")
        comment = form.cleaned_data["comment"]
        steps = {
            "approve": services.merchant_offer_approve,
            "reject": services.merchant_offer_reject,
            "changes": services.merchant_offer_request_changes,
        }
        if decision not in steps:
            form.add_error(None, _("Choose approve, reject or ask for changes."))
        else:
            try:
                steps[decision](offer=offer, user=request.user, comment=comment)
            except ValidationError as error:
                _errors_to_form(form, error)
            except services.TransitionRefused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, _("Your decision was recorded."))
                return redirect("merchants:review_detail", offer_id=offer.pk)
    reach = selectors.merchant_offer_reach(
        merchant=offer.merchant, values=services.merchant_offer_input(offer)
    )
    preview = selectors.merchant_offer_rule_preview(offer=offer)
    return render(
        request,
        "merchants/review_detail.html",
        {"form": form, "reach": reach, "preview": preview, **_offer_context(offer)},
    )


@role_required(Role.MARKETER)
@require_POST
def review_pause(request: HttpRequest, offer_id: int) -> HttpResponse:
    if selectors.merchant_of(request.user) is not None:
        raise PermissionDenied
    offer = selectors.review_offer_get(offer_id=offer_id)
    return _lifecycle(request, offer, "pause", "merchants:review_detail")


@role_required(Role.MARKETER)
def review_image(request: HttpRequest, offer_id: int) -> HttpResponse:
    if selectors.merchant_of(request.user) is not None:
        raise PermissionDenied
    return _image_response(selectors.review_offer_get(offer_id=offer_id))


# --- the admin's merchant pages -------------------------------------------------------------


@role_required(Role.ADMIN)
def manage_list(request: HttpRequest) -> HttpResponse:
    form = MerchantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            merchant = services.merchant_create(**form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            return redirect("merchants:manage_detail", merchant_id=merchant.pk)
    return render(
        request,
        "merchants/manage_list.html",
        {"form": form, "merchants": selectors.merchant_list()},
    )


@role_required(Role.ADMIN)
def manage_detail(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = selectors.merchant_get(merchant_id=merchant_id)
    is_store = request.method == "POST" and request.POST.get("form") == "store"
    is_invite = request.method == "POST" and request.POST.get("form") == "invite"
    store_form = StoreForm(request.POST if is_store else None, prefix="store")
    invite_form = InviteForm(request.POST if is_invite else None, prefix="invite")
    invitation = None
    if is_store and store_form.is_valid():
        try:
            services.store_create(merchant=merchant, **store_form.cleaned_data)
        except ValidationError as error:
            _errors_to_form(store_form, error)
        else:
            messages.success(request, _("The store was added."))
            return redirect("merchants:manage_detail", merchant_id=merchant.pk)
    if is_invite and invite_form.is_valid():
        try:
            invitation = services.merchant_user_invite(
                merchant=merchant, **invite_form.cleaned_data
            )
        except ValidationError as error:
            _errors_to_form(invite_form, error)
        else:
            invite_form = InviteForm(prefix="invite")
    return render(
        request,
        "merchants/manage_detail.html",
        {
            "merchant": merchant,
            "stores": selectors.store_list(merchant=merchant),
            "members": merchant.memberships.select_related("user"),
            "store_form": store_form,
            "invite_form": invite_form,
            "invitation": invitation,
            "invite_url": request.build_absolute_uri(invitation.set_password_path)
            if invitation
            else None,
        },
    )
