"""The designer's pages and htmx fragments. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from campaigns import selectors, services
from campaigns.designer.blocks import blocks_html, cards_for, errors_oob_html
from campaigns.designer.edits import EditError, apply_edit
from campaigns.gallery import gallery_ensure
from campaigns.models import (
    AudienceEstimate,
    Campaign,
    CampaignStatus,
    CampaignTemplate,
)
from campaigns.spec.catalog import Catalog, catalog_load
from campaigns.spec.diff import spec_diff
from campaigns.spec.flow import flow_svg
from campaigns.spec.validation import spec_problems
from campaigns.spec.words import offer_names_use, summary
from cdp_site.roles import Role, role_required, user_has_role

TEMPLATE = "campaigns/designer.html"
WRITERS = (Role.MARKETER,)
READERS = (Role.MARKETER, Role.ANALYST)


def _campaign(pk: int) -> Campaign:
    try:
        return selectors.campaign_get(campaign_id=pk)
    except Campaign.DoesNotExist as missing:
        raise Http404("No such campaign.") from missing


def _context(
    request: HttpRequest, campaign: Campaign, *, catalog: Catalog | None = None
) -> dict[str, Any]:
    catalog = catalog or catalog_load()
    offer_names_use(catalog.offers)
    spec = campaign.draft_spec if isinstance(campaign.draft_spec, dict) else {}
    problems = spec_problems(spec, catalog=catalog)
    can_edit = user_has_role(request.user, *WRITERS) and campaign.status != CampaignStatus.ARCHIVED
    live = campaign.live_version
    edit_url = reverse("campaigns:designer-edit", kwargs={"pk": campaign.pk})
    cards = cards_for(
        spec, catalog, problems, campaign.locked_paths, edit_url=edit_url, can_edit=can_edit
    )
    return {
        "campaign": campaign,
        "spec": spec,
        "cards": cards,
        "blocks_html": blocks_html(cards, edit_url, can_edit),
        "problems": problems,
        "summary": summary(spec),
        "flow": flow_svg(spec, error_paths=[p.path for p in problems]),
        "can_edit": can_edit,
        "is_admin": user_has_role(request.user, Role.ADMIN),
        "draft_differs": live is not None and live.spec != spec,
        "is_approved": campaign.approved_revision == campaign.revision,
        "spec_json": json.dumps(spec, indent=2, ensure_ascii=False),
        "event_types": list(catalog.event_types),
        "edit_url": edit_url,
    }


@role_required(*READERS)
@require_GET
def designer(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    context = _context(request, campaign)
    context["estimate"] = selectors.estimate_latest(campaign=campaign)
    return render(request, TEMPLATE, context)


@role_required(*READERS)
@require_GET
def designer_tab(request: HttpRequest, pk: int, tab: str) -> HttpResponse:
    """The versions, audit log and decisions tabs, loaded when first shown."""
    campaign = _campaign(pk)
    context: dict[str, Any] = {
        "campaign": campaign,
        "can_edit": user_has_role(request.user, *WRITERS)
        and campaign.status != CampaignStatus.ARCHIVED,
    }
    if tab == "versions":
        context["versions"] = selectors.campaign_version_list(campaign=campaign)
    elif tab == "audit":
        context["audit"] = selectors.campaign_audit_list(campaign=campaign)[:100]
    elif tab == "decisions":
        context["decisions"] = selectors.decision_list(campaign_id=campaign.pk)[:20]
    else:
        raise Http404("No such tab.")
    return render(request, f"{TEMPLATE}#tab-{tab}", context)


@role_required(*WRITERS)
@require_POST
def designer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One edit from the designer: apply, save (autosave), answer the fragments that change."""
    campaign = _campaign(pk)
    catalog = catalog_load()
    post = request.POST
    try:
        revision = int(post.get("revision", ""))
    except ValueError:
        return HttpResponseBadRequest("revision is missing")
    alert = ""
    try:
        spec = apply_edit(
            campaign.draft_spec,
            op=post.get("op", ""),
            path=post.get("path", ""),
            catalog=catalog,
            value=post.get("value", ""),
            values=post.getlist("value"),
            kind=post.get("kind", "text"),
            what=post.get("what", ""),
        )
        name = spec.get("name") if post.get("path") == "name" else None
        campaign = services.campaign_update(
            campaign=campaign,
            user=request.user,
            spec=spec,
            name=name if isinstance(name, str) and name.strip() else None,
            expected_revision=revision,
            validate=False,
            catalog=catalog,
        )
    except (EditError, services.CampaignError) as error:
        alert = getattr(error, "message", str(error))
        campaign = _campaign(pk)
    context = _context(request, campaign, catalog=catalog)
    context["alert"] = alert
    context["rerender"] = post.get("rerender") == "1" or post.get("op") != "set" or bool(alert)
    if not context["rerender"]:
        context["errors_oob"] = errors_oob_html(context["cards"])
    return render(request, f"{TEMPLATE}#edit-response", context)


@role_required(*WRITERS)
@require_POST
def campaign_new(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip() or _("Untitled campaign")
    template_slug = request.POST.get("template", "")
    try:
        if template_slug:
            if "\x00" in template_slug:
                raise Http404("No such template.")
            template = get_object_or_404(CampaignTemplate, slug=template_slug)
            campaign = services.campaign_create_from_template(
                template=template, user=request.user, name=request.POST.get("name") or None
            )
        else:
            campaign = services.campaign_create(user=request.user, name=name, validate=False)
    except services.CampaignError as error:
        messages.error(request, error.message)
        return redirect("campaigns:list")
    return redirect("campaigns:designer", pk=campaign.pk)


@role_required(*READERS)
@require_GET
def gallery(request: HttpRequest) -> HttpResponse:
    gallery_ensure()
    catalog = catalog_load()
    offer_names_use(catalog.offers)
    templates = [
        {"template": template, "summary": summary(template.spec)}
        for template in selectors.template_list()
    ]
    return render(request, "campaigns/gallery.html", {"templates": templates})


LIFECYCLE = {
    "submit": services.campaign_submit_for_approval,
    "approve": services.campaign_approve,
    "publish": services.campaign_publish,
    "pause": services.campaign_pause,
    "resume": services.campaign_resume,
    "archive": services.campaign_archive,
}
# Lazy: the module is imported once, the message is shown in each request's language.
DONE = {
    "submit": gettext_lazy("Submitted for approval."),
    "approve": gettext_lazy("Approved."),
    "publish": gettext_lazy("Published."),
    "pause": gettext_lazy("Paused."),
    "resume": gettext_lazy("Resumed."),
    "archive": gettext_lazy("Archived."),
}


@role_required(*WRITERS)
@require_POST
def campaign_lifecycle(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    service = LIFECYCLE.get(action)
    if service is None:
        raise Http404("No such action.")
    campaign = _campaign(pk)
    try:
        service(campaign=campaign, user=request.user, comment=request.POST.get("comment", ""))
    except services.SpecInvalid as error:
        messages.error(
            request,
            _("Fix the problems marked on the blocks first: %(first)s") % {"first": error.message},
        )
    except services.CampaignError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, DONE[action])
    return redirect("campaigns:designer", pk=pk)


@role_required(*WRITERS)
@require_POST
def campaign_rollback(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    campaign = _campaign(pk)
    try:
        version = selectors.campaign_version_get(campaign=campaign, number=number)
    except campaign.versions.model.DoesNotExist as missing:
        raise Http404("No such version.") from missing
    try:
        restored = services.campaign_rollback(campaign=campaign, version=version, user=request.user)
    except services.CampaignError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Version %(old)s is live again as version %(new)s.")
            % {"old": number, "new": restored.number},
        )
    return redirect("campaigns:designer", pk=pk)


@role_required(*READERS)
@require_GET
def version_diff(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    campaign = _campaign(pk)
    versions = {v.number: v for v in selectors.campaign_version_list(campaign=campaign)}
    if number not in versions:
        raise Http404("No such version.")
    against = request.GET.get("against", "")
    catalog = catalog_load()
    offer_names_use(catalog.offers)
    if against == "draft":
        old, new, title = versions[number].spec, campaign.draft_spec, _("draft")
    else:
        previous = [n for n in versions if n < number]
        if not previous:
            changes = [_("The first version: %(text)s") % {"text": summary(versions[number].spec)}]
            return render(request, f"{TEMPLATE}#diff", {"changes": changes, "number": number})
        old, new, title = versions[max(previous)].spec, versions[number].spec, ""
    changes = spec_diff(old, new) or [_("No differences.")]
    return render(
        request, f"{TEMPLATE}#diff", {"changes": changes, "number": number, "title": title}
    )


def _moment(text: str) -> float:
    """Epoch seconds of a datetime-local field (the current time zone), or now when empty."""
    import datetime as dt

    from django.utils import timezone

    if not text.strip():
        return timezone.now().timestamp()
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise ValueError(_("'When' is a date and time, like 2026-12-05T12:00.")) from error
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.timestamp()


@role_required(*READERS)
@require_POST
def test_event(request: HttpRequest, pk: int) -> HttpResponse:
    from campaigns.preview import PreviewError, campaign_event_explain

    campaign = _campaign(pk)
    post = request.POST
    error = ""
    result = None
    try:
        attributes = json.loads(post.get("attributes") or "{}")
        profile_text = post.get("profile", "").strip()
        profile = json.loads(profile_text) if profile_text else None
        repeat = max(0, min(int(post.get("earlier") or 0), 100))
        if not isinstance(attributes, dict) or (
            profile is not None and not isinstance(profile, dict)
        ):
            raise PreviewError(_('Attributes and profile are JSON objects, like {"age": 30}.'))
        event = {
            "type": post.get("type", ""),
            "customer_id": post.get("customer_id") or "test-customer",
            "attributes": attributes,
        }
        # "earlier" copies of the same event a minute apart fill count windows quickly
        now = _moment(post.get("at", ""))
        history = [
            {"type": event["type"], "attributes": attributes, "ts": now - 60 * (i + 1)}
            for i in range(repeat)
        ]
        if post.get("recent"):
            # the customer's real recent events (archive + stream) fill windows and sequences
            from realtime.ingest.selectors import customer_recent_events

            history += [
                past.to_dict()
                for past in customer_recent_events(str(event["customer_id"]), limit=500)
                if past.ts < now
            ]
        event["ts"] = now
        result = campaign_event_explain(
            campaign=campaign, event=event, profile=profile, history=history
        )
    except json.JSONDecodeError as problem:
        error = _("That is not valid JSON: %(problem)s") % {"problem": problem.msg}
    except ValueError as problem:
        error = str(problem)
    except services.SpecInvalid as problem:
        error = _("The campaign has problems to fix first: %(first)s") % {"first": problem.message}
    return render(request, f"{TEMPLATE}#test-result", {"result": result, "error": error})


@role_required(*WRITERS)
@require_POST
def estimate_start(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    try:
        days = int(request.POST.get("days") or 7)
        estimate = services.audience_estimate_start(campaign=campaign, user=request.user, days=days)
    except ValueError:
        return render(request, f"{TEMPLATE}#estimate", {"estimate_error": _("Days is a number.")})
    except services.CampaignError as error:
        return render(request, f"{TEMPLATE}#estimate", {"estimate_error": error.message})
    return render(request, f"{TEMPLATE}#estimate", {"estimate": estimate})


@role_required(*READERS)
@require_GET
def estimate_progress(request: HttpRequest, estimate_id: int) -> HttpResponse:
    estimate = get_object_or_404(
        AudienceEstimate.objects.select_related("campaign"), pk=estimate_id
    )
    return render(request, f"{TEMPLATE}#estimate", {"estimate": estimate})


@role_required(Role.ADMIN)
@require_POST
def save_as_template(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    locked = [path.strip() for path in request.POST.get("locked", "").split(",") if path.strip()]
    try:
        template = services.template_save_from_campaign(
            campaign=campaign,
            user=request.user,
            name=request.POST.get("name", ""),
            slug=request.POST.get("slug", ""),
            locked_paths=locked,
            description=request.POST.get("description", ""),
        )
    except services.CampaignError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Saved as the template “%(name)s”.") % {"name": template.name})
    return redirect(reverse("campaigns:designer", kwargs={"pk": pk}))
