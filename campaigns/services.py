"""Campaign writes: create, edit the draft, the approval and publishing lifecycle, templates.

Every service runs in one transaction, locks the campaign row it changes, and writes an audit
entry saying who changed what. The engine workers learn about lifecycle changes from
``realtime.live.reload.campaigns_changed_notify``, sent only once the transaction committed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import (
    AudienceEstimate,
    AuditAction,
    Campaign,
    CampaignAuditEntry,
    CampaignStatus,
    CampaignTemplate,
    CampaignVersion,
)
from campaigns.spec.catalog import Catalog
from campaigns.spec.diff import spec_diff
from campaigns.spec.paths import get_at, is_under
from campaigns.spec.validation import SpecProblem, spec_problems
from cdp_site.roles import Role, user_has_role

#: Draft edits by one person within this time fold into one audit entry.
EDIT_FOLD = dt.timedelta(minutes=10)
MAX_FOLDED_CHANGES = 60
ESTIMATE_MAX_DAYS = 90


class CampaignError(Exception):
    """A rule of the lifecycle was broken; ``message`` is shown to the person as is."""

    code = "campaign_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SpecInvalid(CampaignError):
    code = "invalid_spec"

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = list(problems)
        first = self.problems[0].message if self.problems else _("The rule is not valid.")
        super().__init__(first)


class DraftConflict(CampaignError):
    code = "conflict"
    status = 409


class TransitionNotAllowed(CampaignError):
    code = "not_allowed"
    status = 409


class LockedField(CampaignError):
    code = "locked"
    status = 403


class NotPermitted(CampaignError):
    code = "forbidden"
    status = 403


def blank_spec(name: str) -> dict[str, object]:
    """What a new, empty campaign starts from: enough for the designer to show every block."""
    return {"spec": 1, "name": name, "trigger": {"event": ""}, "actions": []}


def _notify_engine() -> None:
    from realtime.live.reload import campaigns_changed_notify

    transaction.on_commit(campaigns_changed_notify)


def _require_storable_text(**fields: str | None) -> None:
    """Names the first field whose text PostgreSQL cannot store (a NUL character): the HTML
    views pass form values through as they came."""
    for field, value in fields.items():
        if value and "\x00" in value:
            raise CampaignError(
                _("%(field)s: text cannot contain NUL characters.") % {"field": field}
            )


def _audit(
    campaign: Campaign,
    user: Any,
    action: AuditAction,
    *,
    comment: str = "",
    changes: Sequence[str] = (),
    version: int | None = None,
) -> CampaignAuditEntry:
    # Every service that takes a comment records it here, inside its transaction.
    _require_storable_text(comment=comment)
    return CampaignAuditEntry.objects.create(
        campaign=campaign,
        user=user,
        action=action,
        comment=comment,
        changes=list(changes),
        version=version,
        revision=campaign.revision,
        at=timezone.now(),
    )


def _locked(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign_id)


def _check_spec(spec: object, catalog: Catalog | None) -> None:
    problems = spec_problems(spec, catalog=catalog)
    if problems:
        raise SpecInvalid(problems)


def _same_json(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@transaction.atomic
def campaign_create(
    *,
    user: Any,
    name: str,
    spec: Mapping[str, object] | None = None,
    description: str = "",
    merchant: Any = None,
    requires_approval: bool = False,
    template: CampaignTemplate | None = None,
    validate: bool = True,
    catalog: Catalog | None = None,
) -> Campaign:
    """A new draft. The API validates the spec (``validate``); the designer may start empty."""
    _require_storable_text(name=name, description=description)
    name = name.strip()
    if not name:
        raise CampaignError(_("Give the campaign a name."))
    draft = copy.deepcopy(dict(spec)) if spec is not None else blank_spec(name)
    if validate:
        _check_spec(draft, catalog)
    campaign = Campaign.objects.create(
        name=name[:200],
        description=description,
        draft_spec=draft,
        owner=user,
        merchant=merchant,
        requires_approval=requires_approval or merchant is not None,
        template=template,
        locked_paths=list(template.locked_paths) if template is not None else [],
    )
    origin = f"from the template “{template.name}”" if template is not None else ""
    _audit(campaign, user, AuditAction.CREATED, comment=origin)
    return campaign


def _locked_changes(campaign: Campaign, old: object, new: object) -> list[str]:
    return [
        path
        for path in campaign.locked_paths
        if not _same_json(get_at(old, path), get_at(new, path))
    ]


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    user: Any,
    spec: Mapping[str, object] | None = None,
    name: str | None = None,
    description: str | None = None,
    expected_revision: int | None = None,
    validate: bool = True,
    catalog: Catalog | None = None,
) -> Campaign:
    """Save the draft. ``expected_revision`` is the revision the editor started from: when
    someone else saved in between, :class:`DraftConflict` says who, and nothing is written.
    """
    _require_storable_text(name=name, description=description)
    current = _locked(campaign.pk)
    if current.status == CampaignStatus.ARCHIVED:
        raise TransitionNotAllowed(_("This campaign is archived; restore it from a copy instead."))
    if expected_revision is not None and expected_revision != current.revision:
        last = current.audit_entries.select_related("user").first()
        who = last.user.get_username() if last is not None and last.user else _("someone else")
        when = timezone.localtime(last.at).strftime("%H:%M") if last is not None else ""
        raise DraftConflict(
            _(
                "%(who)s changed this draft at %(when)s while you were editing (you had revision "
                "%(yours)s, it is now %(now)s). Reload to see their changes; yours were not saved."
            )
            % {"who": who, "when": when, "yours": expected_revision, "now": current.revision}
        )
    new_spec = copy.deepcopy(dict(spec)) if spec is not None else current.draft_spec
    if name is not None:
        name = name.strip()
        if not name:
            raise CampaignError(_("Give the campaign a name."))
        current.name = name[:200]
    if description is not None:
        current.description = description
    if current.locked_paths and not user_has_role(user, Role.ADMIN):
        touched = _locked_changes(current, current.draft_spec, new_spec)
        if touched:
            raise LockedField(
                _(
                    "'%(field)s' is locked by the template this campaign came from; "
                    "only an administrator can change it."
                )
                % {"field": touched[0]}
            )
    if validate:
        _check_spec(new_spec, catalog)
    changes = spec_diff(current.draft_spec, new_spec)
    name_in_diff = _spec_name(current.draft_spec) != _spec_name(new_spec)
    if name is not None and name != campaign.name and not name_in_diff:
        changes.insert(0, _("Renamed to “%(name)s”.") % {"name": current.name})
    if not changes and name is None and description is None:
        return current
    current.draft_spec = new_spec
    current.revision += 1
    if current.status == CampaignStatus.PENDING_APPROVAL:
        current.status = (
            CampaignStatus.PUBLISHED if current.live_version_id else CampaignStatus.DRAFT
        )
    current.save()
    _fold_edit_audit(current, user, changes)
    return current


def _spec_name(spec: object) -> object:
    return spec.get("name") if isinstance(spec, Mapping) else None


def _fold_edit_audit(campaign: Campaign, user: Any, changes: list[str]) -> None:
    last = campaign.audit_entries.first()
    now = timezone.now()
    if (
        last is not None
        and last.action == AuditAction.EDITED
        and last.user_id == getattr(user, "pk", None)
        and now - last.at < EDIT_FOLD
    ):
        folded = [c for c in last.changes if c not in changes] + changes
        last.changes = folded[-MAX_FOLDED_CHANGES:]
        last.at = now
        last.revision = campaign.revision
        last.save(update_fields=["changes", "at", "revision"])
        return
    _audit(campaign, user, AuditAction.EDITED, changes=changes)


@transaction.atomic
def campaign_submit_for_approval(
    *, campaign: Campaign, user: Any, comment: str = "", catalog: Catalog | None = None
) -> Campaign:
    current = _locked(campaign.pk)
    if current.status == CampaignStatus.ARCHIVED:
        raise TransitionNotAllowed(_("An archived campaign cannot be submitted."))
    _check_spec(current.draft_spec, catalog)
    current.submitted_by = user
    if current.status == CampaignStatus.DRAFT:
        current.status = CampaignStatus.PENDING_APPROVAL
    current.save()
    _audit(current, user, AuditAction.SUBMITTED, comment=comment)
    return current


@transaction.atomic
def campaign_approve(
    *, campaign: Campaign, user: Any, comment: str = "", catalog: Catalog | None = None
) -> Campaign:
    """A second person approves the current revision of the draft (four-eyes rule)."""
    current = _locked(campaign.pk)
    if current.status == CampaignStatus.ARCHIVED:
        raise TransitionNotAllowed(_("An archived campaign cannot be approved."))
    if current.submitted_by_id is None:
        raise TransitionNotAllowed(_("Nobody has submitted this campaign for approval yet."))
    if current.submitted_by_id == user.pk:
        raise NotPermitted(_("A second person must approve: you submitted this campaign yourself."))
    last_editor = (
        current.audit_entries.filter(action=AuditAction.EDITED).values_list("user", flat=True)
    ).first()
    if last_editor == user.pk:
        raise NotPermitted(
            _("A second person must approve: you made the last change to the draft.")
        )
    _check_spec(current.draft_spec, catalog)
    current.approved_by = user
    current.approved_revision = current.revision
    current.save()
    _audit(current, user, AuditAction.APPROVED, comment=comment)
    return current


def _next_version_number(campaign: Campaign) -> int:
    top = campaign.versions.aggregate(top=Max("number"))["top"]
    return (top or 0) + 1


@transaction.atomic
def campaign_publish(
    *, campaign: Campaign, user: Any, comment: str = "", catalog: Catalog | None = None
) -> CampaignVersion:
    """Freeze the draft into a new immutable version and make it live."""
    current = _locked(campaign.pk)
    if current.status == CampaignStatus.ARCHIVED:
        raise TransitionNotAllowed(_("An archived campaign cannot be published."))
    _check_spec(current.draft_spec, catalog)
    if current.requires_approval and current.approved_revision != current.revision:
        raise TransitionNotAllowed(
            _(
                "This campaign needs a second person's approval of its latest changes before it "
                "can be published: submit it for approval."
            )
        )
    live = current.live_version
    if live is not None and _same_json(live.spec, current.draft_spec):
        if current.status == CampaignStatus.PUBLISHED:
            return live
        version = live
    else:
        version = CampaignVersion.objects.create(
            campaign=current,
            number=_next_version_number(current),
            spec=copy.deepcopy(current.draft_spec),
            published_by=user,
        )
    current.live_version = version
    current.status = CampaignStatus.PUBLISHED
    current.save()
    changes = spec_diff(live.spec, version.spec) if live is not None and live != version else []
    _audit(
        current,
        user,
        AuditAction.PUBLISHED,
        comment=comment,
        changes=changes,
        version=version.number,
    )
    _notify_engine()
    return version


@transaction.atomic
def campaign_pause(*, campaign: Campaign, user: Any, comment: str = "") -> Campaign:
    current = _locked(campaign.pk)
    if current.status != CampaignStatus.PUBLISHED:
        raise TransitionNotAllowed(
            _("Only a published campaign can be paused; this one is %(status)s.")
            % {"status": current.get_status_display()}
        )
    current.status = CampaignStatus.PAUSED
    current.save()
    _audit(
        current,
        user,
        AuditAction.PAUSED,
        comment=comment,
        version=current.live_version.number if current.live_version else None,
    )
    _notify_engine()
    return current


@transaction.atomic
def campaign_resume(*, campaign: Campaign, user: Any, comment: str = "") -> Campaign:
    current = _locked(campaign.pk)
    if current.status != CampaignStatus.PAUSED or current.live_version is None:
        raise TransitionNotAllowed(
            _("Only a paused campaign can be resumed; this one is %(status)s.")
            % {"status": current.get_status_display()}
        )
    current.status = CampaignStatus.PUBLISHED
    current.save()
    _audit(current, user, AuditAction.RESUMED, comment=comment, version=current.live_version.number)
    _notify_engine()
    return current


@transaction.atomic
def campaign_archive(*, campaign: Campaign, user: Any, comment: str = "") -> Campaign:
    current = _locked(campaign.pk)
    if current.status == CampaignStatus.ARCHIVED:
        return current
    was_live = current.status == CampaignStatus.PUBLISHED
    current.status = CampaignStatus.ARCHIVED
    current.save()
    _audit(current, user, AuditAction.ARCHIVED, comment=comment)
    if was_live:
        _notify_engine()
    return current


@transaction.atomic
def campaign_rollback(
    *, campaign: Campaign, version: CampaignVersion, user: Any, comment: str = ""
) -> CampaignVersion:
    """Make an earlier version's spec live again, as a new version (numbers only grow, so
    decisions made by the rolled-back version keep pointing at what made them)."""
    current = _locked(campaign.pk)
    if version.campaign_id != current.pk:
        raise CampaignError(_("That version belongs to another campaign."))
    if current.status == CampaignStatus.ARCHIVED:
        raise TransitionNotAllowed(_("An archived campaign cannot be rolled back."))
    live = current.live_version
    restored = CampaignVersion.objects.create(
        campaign=current,
        number=_next_version_number(current),
        spec=copy.deepcopy(version.spec),
        published_by=user,
    )
    changes = spec_diff(live.spec if live else current.draft_spec, restored.spec)
    current.draft_spec = copy.deepcopy(version.spec)
    current.revision += 1
    current.live_version = restored
    if current.status in (CampaignStatus.DRAFT, CampaignStatus.PENDING_APPROVAL):
        current.status = CampaignStatus.PUBLISHED
    if current.requires_approval:
        current.approved_revision = current.revision  # the spec was approved when first published
    current.save()
    _audit(
        current,
        user,
        AuditAction.ROLLED_BACK,
        version=restored.number,
        changes=changes,
        comment=comment or _("Back to version %(n)s.") % {"n": version.number},
    )
    _notify_engine()
    return restored


@transaction.atomic
def template_save_from_campaign(
    *,
    campaign: Campaign,
    user: Any,
    name: str,
    slug: str,
    locked_paths: Sequence[str] = (),
    description: str = "",
) -> CampaignTemplate:
    """An administrator turns a campaign into a template; ``locked_paths`` stay as they are in
    every campaign started from it."""
    if not user_has_role(user, Role.ADMIN) or not getattr(user, "is_authenticated", False):
        raise NotPermitted(_("Only an administrator can save templates."))
    _require_storable_text(name=name, slug=slug, description=description)
    if not name.strip() or not slug.strip():
        raise CampaignError(_("A template needs a name and a short identifier (slug)."))
    spec = campaign.draft_spec
    missing = [path for path in locked_paths if get_at(spec, path) is None]
    if missing:
        raise CampaignError(
            _("'%(field)s' is not a field of this campaign; it cannot be locked.")
            % {"field": missing[0]}
        )
    if CampaignTemplate.objects.filter(slug=slug).exists():
        raise CampaignError(_("A template named '%(slug)s' exists already.") % {"slug": slug})
    template = CampaignTemplate.objects.create(
        slug=slug,
        name=name.strip(),
        description=description,
        spec=copy.deepcopy(spec),
        locked_paths=list(locked_paths),
        created_by=user,
    )
    _audit(
        campaign,
        user,
        AuditAction.SAVED_AS_TEMPLATE,
        comment=_("Template “%(name)s”") % {"name": template.name},
    )
    return template


def campaign_create_from_template(
    *, template: CampaignTemplate, user: Any, name: str | None = None
) -> Campaign:
    spec = copy.deepcopy(template.spec)
    chosen = (name or template.name).strip()
    if isinstance(spec, dict) and not any(is_under("name", p) for p in template.locked_paths):
        spec["name"] = chosen
    return campaign_create(user=user, name=chosen, spec=spec, template=template, validate=False)


@transaction.atomic
def audience_estimate_start(
    *, campaign: Campaign, user: Any, days: int, now: dt.datetime | None = None
) -> AudienceEstimate:
    """Queue an estimate of the current draft over the last ``days`` of archived events."""
    if not 1 <= days <= ESTIMATE_MAX_DAYS:
        raise CampaignError(_("Estimate over 1 to %(days)s days.") % {"days": ESTIMATE_MAX_DAYS})
    _check_spec(campaign.draft_spec, None)
    end = now or timezone.now()
    estimate = AudienceEstimate.objects.create(
        campaign=campaign,
        requested_by=user,
        spec=copy.deepcopy(campaign.draft_spec),
        days=days,
        window_start=end - dt.timedelta(days=days),
        window_end=end,
    )
    from campaigns.estimates import audience_estimate_task

    estimate_id = estimate.pk
    transaction.on_commit(lambda: audience_estimate_task.delay(estimate_id))
    return estimate
