"""Campaign services: drafts, approval by a second person, immutable versions, audit log."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from campaigns import services
from campaigns.gallery import gallery_entry, gallery_offers_ensure
from campaigns.models import AuditAction, CampaignStatus, CampaignVersion


@pytest.fixture
def scenario_1(db: None) -> dict[str, Any]:
    gallery_offers_ensure()
    entry = gallery_entry("viewed-but-did-not-sign-up")
    assert entry is not None
    return copy.deepcopy(entry.spec)


def test_create_rejects_an_invalid_spec_naming_the_block(make_user: Any, scenario_1: dict) -> None:
    marketer = make_user("marketer")
    scenario_1["conditions"]["all"][1]["value"] = [19, "old"]
    with pytest.raises(services.SpecInvalid) as raised:
        services.campaign_create(user=marketer, name="Nudge", spec=scenario_1)
    assert [p.path for p in raised.value.problems] == ["conditions.all[1].value"]
    assert "between" in raised.value.problems[0].message


def test_publish_freezes_a_new_version_and_later_edits_do_not_touch_it(
    make_user: Any, scenario_1: dict, django_capture_on_commit_callbacks: Any
) -> None:
    marketer = make_user("marketer")
    campaign = services.campaign_create(user=marketer, name="Nudge", spec=scenario_1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = services.campaign_publish(campaign=campaign, user=marketer)
    assert len(callbacks) == 1  # the engine workers are told once the commit happened
    edited = copy.deepcopy(scenario_1)
    edited["conditions"]["all"][1]["value"] = [19, 60]
    campaign = services.campaign_update(campaign=campaign, user=marketer, spec=edited)
    second = services.campaign_publish(campaign=campaign, user=marketer)
    campaign.refresh_from_db()
    assert (first.number, second.number) == (1, 2)
    assert CampaignVersion.objects.get(pk=first.pk).spec == scenario_1
    assert campaign.live_version == second and campaign.status == CampaignStatus.PUBLISHED
    with pytest.raises(ValueError, match="immutable"):
        first.save()
    # publishing an unchanged draft again makes no new version
    assert services.campaign_publish(campaign=campaign, user=marketer) == second


def test_stale_editor_gets_a_conflict_and_nothing_is_overwritten(
    make_user: Any, scenario_1: dict
) -> None:
    ana, ben = make_user("marketer", username="ana"), make_user("marketer", username="ben")
    campaign = services.campaign_create(user=ana, name="Nudge", spec=scenario_1)
    start = campaign.revision
    ana_spec = copy.deepcopy(scenario_1)
    ana_spec["guards"]["holdout"] = 0.2
    services.campaign_update(campaign=campaign, user=ana, spec=ana_spec, expected_revision=start)
    ben_spec = copy.deepcopy(scenario_1)
    ben_spec["guards"]["holdout"] = 0.3
    with pytest.raises(services.DraftConflict, match="ana changed this draft"):
        services.campaign_update(
            campaign=campaign, user=ben, spec=ben_spec, expected_revision=start
        )
    campaign.refresh_from_db()
    assert campaign.draft_spec["guards"]["holdout"] == 0.2


def test_approval_needs_a_second_person(make_user: Any, scenario_1: dict) -> None:
    ana, ben = make_user("marketer", username="ana"), make_user("marketer", username="ben")
    campaign = services.campaign_create(
        user=ana, name="Nudge", spec=scenario_1, requires_approval=True
    )
    with pytest.raises(services.TransitionNotAllowed, match="approval"):
        services.campaign_publish(campaign=campaign, user=ana)
    services.campaign_submit_for_approval(campaign=campaign, user=ana, comment="please")
    with pytest.raises(services.NotPermitted, match="second person"):
        services.campaign_approve(campaign=campaign, user=ana)
    services.campaign_approve(campaign=campaign, user=ben, comment="looks right")
    version = services.campaign_publish(campaign=campaign, user=ana)
    assert version.number == 1
    entries = list(campaign.audit_entries.order_by("at", "id").values_list("action", "comment"))
    assert entries == [
        (AuditAction.CREATED, ""),
        (AuditAction.SUBMITTED, "please"),
        (AuditAction.APPROVED, "looks right"),
        (AuditAction.PUBLISHED, ""),
    ]


def test_an_edit_after_approval_needs_approval_again(make_user: Any, scenario_1: dict) -> None:
    ana, ben = make_user("marketer", username="ana"), make_user("marketer", username="ben")
    campaign = services.campaign_create(
        user=ana, name="Nudge", spec=scenario_1, requires_approval=True
    )
    services.campaign_submit_for_approval(campaign=campaign, user=ana)
    services.campaign_approve(campaign=campaign, user=ben)
    edited = copy.deepcopy(scenario_1)
    edited["guards"]["holdout"] = 0.5
    services.campaign_update(campaign=campaign, user=ana, spec=edited)
    with pytest.raises(services.TransitionNotAllowed):
        services.campaign_publish(campaign=campaign, user=ana)


def test_pause_resume_archive_and_wrong_transitions(make_user: Any, scenario_1: dict) -> None:
    marketer = make_user("marketer")
    campaign = services.campaign_create(user=marketer, name="Nudge", spec=scenario_1)
    with pytest.raises(services.TransitionNotAllowed, match="Only a published"):
        services.campaign_pause(campaign=campaign, user=marketer)
    services.campaign_publish(campaign=campaign, user=marketer)
    assert services.campaign_pause(campaign=campaign, user=marketer).status == "paused"
    assert services.campaign_resume(campaign=campaign, user=marketer).status == "published"
    assert services.campaign_archive(campaign=campaign, user=marketer).status == "archived"
    with pytest.raises(services.TransitionNotAllowed):
        services.campaign_publish(campaign=campaign, user=marketer)


def test_rollback_publishes_the_old_spec_as_a_new_version(make_user: Any, scenario_1: dict) -> None:
    marketer = make_user("marketer")
    campaign = services.campaign_create(user=marketer, name="Nudge", spec=scenario_1)
    v1 = services.campaign_publish(campaign=campaign, user=marketer)
    edited = copy.deepcopy(scenario_1)
    edited["guards"]["holdout"] = 0.5
    services.campaign_update(campaign=campaign, user=marketer, spec=edited)
    services.campaign_publish(campaign=campaign, user=marketer)
    v3 = services.campaign_rollback(campaign=campaign, version=v1, user=marketer)
    campaign.refresh_from_db()
    assert v3.number == 3 and v3.spec == v1.spec
    assert campaign.live_version == v3 and campaign.draft_spec == v1.spec
    rollback = campaign.audit_entries.first()
    assert rollback.action == AuditAction.ROLLED_BACK
    assert rollback.changes == ["Holdout: “50% held out” → “10% held out”."]


def test_edits_are_audited_in_words_and_folded(make_user: Any, scenario_1: dict) -> None:
    marketer = make_user("marketer")
    campaign = services.campaign_create(user=marketer, name="Nudge", spec=scenario_1)
    first = copy.deepcopy(scenario_1)
    first["conditions"]["all"][1]["value"] = [19, 60]
    services.campaign_update(campaign=campaign, user=marketer, spec=first)
    second = copy.deepcopy(first)
    second["unless"]["within"] = "10m"
    services.campaign_update(campaign=campaign, user=marketer, spec=second)
    edit = campaign.audit_entries.first()
    assert edit.action == AuditAction.EDITED
    assert edit.changes == [
        "Condition 2: “age is 19\u201355” → “age is 19\u201360”.",
        "Unless: “does not have a product subscribed event within 7 minutes” → “does not have a "
        "product subscribed event within 10 minutes”.",
    ]
    assert campaign.audit_entries.count() == 2  # created + one folded edit


def test_template_locks_fields_for_business_users(make_user: Any, scenario_1: dict) -> None:
    admin, marketer = make_user("admin"), make_user("marketer")
    source = services.campaign_create(user=admin, name="Nudge", spec=scenario_1)
    template = services.template_save_from_campaign(
        campaign=source,
        user=admin,
        name="Nudge template",
        slug="nudge",
        locked_paths=["guards.cap"],
    )
    with pytest.raises(services.NotPermitted):
        services.template_save_from_campaign(
            campaign=source, user=marketer, name="Mine", slug="mine"
        )
    campaign = services.campaign_create_from_template(template=template, user=marketer, name="X")
    changed = copy.deepcopy(campaign.draft_spec)
    changed["guards"]["cap"]["max"] = 5
    with pytest.raises(services.LockedField, match=r"guards\.cap"):
        services.campaign_update(campaign=campaign, user=marketer, spec=changed)
    changed = copy.deepcopy(campaign.draft_spec)
    changed["guards"]["holdout"] = 0.2
    assert services.campaign_update(campaign=campaign, user=marketer, spec=changed).revision == 2


def test_a_deleted_offer_breaks_its_block_and_blocks_publishing(
    make_user: Any, scenario_1: dict
) -> None:
    from campaigns.models import Offer

    marketer = make_user("marketer")
    campaign = services.campaign_create(user=marketer, name="Nudge", spec=scenario_1)
    Offer.objects.filter(slug="savings-signup-coupon").update(is_active=False)
    with pytest.raises(services.SpecInvalid) as raised:
        services.campaign_publish(campaign=campaign, user=marketer)
    assert [p.path for p in raised.value.problems] == ["actions[0].offer"]
    assert not campaign.versions.exists()
