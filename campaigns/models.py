from __future__ import annotations

from django.conf import settings
from django.db import models


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    PUBLISHED = "published", "Published"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


class Campaign(models.Model):
    """A campaign: its editable draft spec and, once published, its live version."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    draft_spec = models.JSONField(default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaigns"
    )
    merchant = models.ForeignKey(
        "merchants.Merchant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        help_text="Set when the campaign runs a merchant's self-service offer.",
    )
    live_version = models.ForeignKey(
        "CampaignVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.status == CampaignStatus.PUBLISHED


class CampaignVersion(models.Model):
    """An immutable published spec; decisions name the version that made them."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="campaign_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} v{self.number}"


class DecisionOutcome(models.TextChoices):
    OFFER = "offer", "Offer"
    HELD_OUT = "held_out", "Held out (control group)"
    SUPPRESSED = "suppressed", "Suppressed"


class Decision(models.Model):
    """What the engine decided for one customer on one trigger; written once, never updated.

    The id is deterministic (campaign version, customer, trigger event), so a replayed batch
    finds its decisions already written and writes nothing twice.
    """

    id = models.UUIDField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="decisions")
    version = models.PositiveIntegerField()
    customer_id = models.CharField(max_length=128)
    trigger_event_id = models.CharField(max_length=128)
    outcome = models.CharField(max_length=20, choices=DecisionOutcome.choices)
    suppression_reason = models.CharField(max_length=40, blank=True)
    variant = models.CharField(max_length=60, blank=True)
    actions = models.JSONField(default=list)
    explanation = models.JSONField(default=list)
    occurred_at = models.DateTimeField(help_text="Event time of the trigger (or the timer).")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["campaign", "occurred_at"]),
            models.Index(fields=["customer_id", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.customer_id}: {self.outcome}"


class Conversion(models.Model):
    """A goal event within the attribution window after a decision (offered or held out)."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="conversions")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="conversions")
    customer_id = models.CharField(max_length=128)
    event_id = models.CharField(max_length=128)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "event_id"], name="conversion_once_per_decision_event"
            )
        ]
        indexes = [models.Index(fields=["campaign", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.decision_id} ← {self.event_id}"
