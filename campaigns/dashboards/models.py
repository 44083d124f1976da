"""Rollups of decisions, deliveries and conversions per campaign, variant and time bucket.

Three grains of the same figures (minute, hour, local day) are kept side by side so a dashboard
over months reads a few hundred rows: ``services.rollup_refresh`` adds the aggregates of rows
that arrived since its watermarks to all three with ``INSERT ... ON CONFLICT DO UPDATE``.

Buckets are *cohorts*: a delivery, a click or a conversion is counted in the bucket of the
decision it belongs to (its trigger's event time), so the conversion rate of a bucket is the
share of that bucket's decisions that converted. The one exception is ``converted_flow``,
counted in the bucket of the conversion itself, which the outlier alert compares with the
offers of the same hour without waiting for attribution windows to close.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Grain(models.TextChoices):
    MINUTE = "m", _("Minute")
    HOUR = "h", _("Hour")
    DAY = "d", _("Day")


class CampaignRollup(models.Model):
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="rollups"
    )
    variant = models.CharField(max_length=60, blank=True)
    grain = models.CharField(max_length=1, choices=Grain.choices)
    bucket = models.DateTimeField(help_text="Start of the minute, hour or local day.")
    triggered = models.BigIntegerField(default=0)
    offered = models.BigIntegerField(default=0)
    held_out = models.BigIntegerField(default=0)
    suppressed = models.BigIntegerField(default=0)
    sent = models.BigIntegerField(default=0)
    sent_control = models.BigIntegerField(
        default=0, help_text="Sends to held-out customers: must stay 0 (the control gets nothing)."
    )
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)
    converted_offer = models.BigIntegerField(
        default=0, help_text="Offer decisions with at least one conversion."
    )
    converted_control = models.BigIntegerField(
        default=0, help_text="Held-out decisions with at least one conversion."
    )
    converted_flow = models.BigIntegerField(
        default=0, help_text="First conversions of offer decisions, by conversion time."
    )
    revenue_offer = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    revenue_control = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    coupons_issued = models.BigIntegerField(default=0)
    coupon_cost = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    send_cost = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "grain", "bucket", "variant"], name="rollup_unique_bucket"
            )
        ]
        indexes = [models.Index(fields=["grain", "bucket"], name="rollup_grain_bucket")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.variant or '-'} {self.grain} {self.bucket:%Y-%m-%d %H:%M}"


class SuppressionRollup(models.Model):
    """Suppressed decisions per campaign, bucket and guard (cap, quiet hours, budget, ...)."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="suppression_rollups"
    )
    grain = models.CharField(max_length=1, choices=Grain.choices)
    bucket = models.DateTimeField()
    reason = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "grain", "bucket", "reason"],
                name="suppression_rollup_unique_bucket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.reason} {self.grain} {self.bucket:%Y-%m-%d %H:%M}"


class RollupWatermark(models.Model):
    """How far the incremental rollup has read each source (one row per source)."""

    source = models.CharField(max_length=30, primary_key=True)
    position = models.DateTimeField(null=True, blank=True)
    last_id = models.BigIntegerField(default=0)
    seen_id = models.BigIntegerField(
        default=0, help_text="Highest id seen on the previous run; read on the next one."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.source} @ {self.position or self.last_id}"
