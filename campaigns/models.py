from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    PUBLISHED = "published", _("Published")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


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
    revision = models.PositiveIntegerField(
        default=1, help_text="Bumped on every draft save; stale editors get a conflict."
    )
    requires_approval = models.BooleanField(
        default=False, help_text="Publishing needs a second person's approval of this revision."
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_revision = models.PositiveIntegerField(null=True, blank=True)
    template = models.ForeignKey(
        "CampaignTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    locked_paths = models.JSONField(
        default=list, blank=True, help_text="Spec paths only an admin may change (from a template)."
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

    def save(self, *args: object, **kwargs: object) -> None:
        # Decisions name the version that made them: a published version never changes.
        if not self._state.adding:
            raise ValueError("A published campaign version is immutable; publish a new one.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]  # Model.save's own signature


class AuditAction(models.TextChoices):
    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited the draft")
    SUBMITTED = "submitted", _("Submitted for approval")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")
    ARCHIVED = "archived", _("Archived")
    ROLLED_BACK = "rolled_back", _("Rolled back")
    SAVED_AS_TEMPLATE = "saved_as_template", _("Saved as a template")


class CampaignAuditEntry(models.Model):
    """Who changed what and when; written by the services, never edited.

    ``changes`` holds sentences ("Condition 2: the value changed from 3 to 4"); consecutive draft
    edits by one person within a few minutes are folded into one entry.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    comment = models.TextField(blank=True)
    changes = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    revision = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["campaign", "at"])]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.action} by {self.user_id} at {self.at:%Y-%m-%d %H:%M}"


class CampaignTemplate(models.Model):
    """A campaign to start from; ``locked_paths`` are spec paths business users cannot change."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    scenario = models.PositiveSmallIntegerField(null=True, blank=True)
    spec = models.JSONField()
    locked_paths = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "name"]

    def __str__(self) -> str:
        return self.name


class EstimateStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class AudienceEstimate(models.Model):
    """One "estimate audience" run: a draft spec replayed over archived events."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="estimates")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    spec = models.JSONField()
    days = models.PositiveSmallIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=EstimateStatus.choices, default=EstimateStatus.QUEUED
    )
    events_total = models.PositiveBigIntegerField(default=0)
    events_done = models.PositiveBigIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"estimate {self.pk} of {self.campaign_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == EstimateStatus.DONE:
            return 100
        fraction = self.result.get("progress", 0) if isinstance(self.result, dict) else 0
        return max(0, min(99, int(100 * float(fraction))))


class DecisionOutcome(models.TextChoices):
    OFFER = "offer", _("Offer")
    HELD_OUT = "held_out", _("Held out (control group)")
    SUPPRESSED = "suppressed", _("Suppressed")


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


# --- offers, coupons and delivery (issue 6) -----------------------------------------------


class Offer(models.Model):
    """What a customer receives: per-channel message templates and an optional coupon.

    Templates use the sandboxed placeholders of ``campaigns.offers.rendering`` only; they are
    validated on save by the offer services, never rendered by Django's template engine.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    merchant = models.ForeignKey(
        "merchants.Merchant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="catalogue_offers",
    )
    push_title = models.CharField(max_length=200, blank=True)
    push_body = models.TextField(blank=True)
    sms_body = models.TextField(blank=True)
    email_subject = models.CharField(max_length=300, blank=True)
    email_body = models.TextField(blank=True)
    webhook_payload = models.JSONField(
        default=dict, blank=True, help_text="A JSON object; placeholders allowed in strings."
    )
    link_url = models.URLField(
        blank=True, help_text="Where {{ link }} leads, through the platform's click tracking."
    )
    coupon_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    coupon_currency = models.CharField(max_length=3, blank=True, default="KRW")
    is_percent = models.BooleanField(
        default=False, help_text="The coupon value is a percentage off, not an amount."
    )
    per_customer_limit = models.PositiveIntegerField(
        default=1, help_text="At most this many sends per customer, across every campaign."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CouponPool(models.Model):
    """The single-use codes of one offer: generated from a pattern or uploaded."""

    offer = models.OneToOneField(Offer, on_delete=models.CASCADE, related_name="pool")
    pattern = models.CharField(
        max_length=60, blank=True, help_text="e.g. SAVE-#### (# digit, ? letter, * either)."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    low_water_mark = models.PositiveIntegerField(default=100)
    exhausted_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when an issue found no code left; cleared on refill."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"pool of {self.offer}"


class CouponStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    ISSUED = "issued", _("Issued")
    REDEEMED = "redeemed", _("Redeemed")


class Coupon(models.Model):
    pool = models.ForeignKey(CouponPool, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=64)
    status = models.CharField(
        max_length=12, choices=CouponStatus.choices, default=CouponStatus.AVAILABLE
    )
    issued_to = models.CharField(max_length=128, blank=True)
    decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pool", "code"], name="coupon_code_unique_in_pool")
        ]
        indexes = [
            models.Index(fields=["pool", "status"]),
            models.Index(fields=["issued_to"]),
            # Delivery takes the next available codes of a pool in id order: without this, each
            # batch walks past every code already issued (O(issued) per batch on a big pool).
            models.Index(
                fields=["pool", "id"],
                condition=models.Q(status="available"),
                name="coupon_available_in_pool",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DeliveryKind(models.TextChoices):
    OFFER = "offer", _("Offer")
    STAFF = "staff", _("Staff task")
    NONE = "none", _("Nothing to send")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")
    HELD_OUT = "held_out", _("Held out")
    DEAD = "dead", _("Dead letter")
    DISCARDED = "discarded", _("Discarded")


class Delivery(models.Model):
    """The delivery status of one action of one decision; every decision gets at least one.

    Status changes are check-and-set updates (``UPDATE ... WHERE status = <expected>``), so a
    duplicated or retried task finds the row already claimed and sends nothing twice.
    """

    # Every index costs each insert and status change (a delivery is written three times): the
    # foreign keys' own indexes are left out where a composite index below starts with them.
    decision = models.ForeignKey(
        Decision, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    action_index = models.PositiveSmallIntegerField(default=0)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    customer_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    offer = models.ForeignKey(
        Offer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
        db_index=False,
    )
    team = models.CharField(max_length=60, blank=True)
    channels = models.JSONField(default=list, help_text="Channels in order of preference.")
    channel = models.CharField(max_length=20, blank=True, help_text="The channel last tried.")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    reason = models.CharField(max_length=60, blank=True, help_text="Why it was suppressed.")
    attempts = models.PositiveSmallIntegerField(default=0)
    channel_failures = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    coupon = models.OneToOneField(
        Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery"
    )
    provider_message_id = models.CharField(max_length=200, blank=True)
    # NULL, not "": most rows have no token, and the token is unique (see Meta).
    link_token = models.CharField(max_length=32, null=True, blank=True)  # noqa: DJ001
    queued_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-queued_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "action_index"], name="delivery_once_per_decision_action"
            ),
            # A constraint rather than unique=True: no second, LIKE-only index on the token.
            models.UniqueConstraint(fields=["link_token"], name="delivery_link_token_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["customer_id", "queued_at"]),
            models.Index(fields=["offer", "customer_id"]),
            models.Index(fields=["campaign", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.decision_id}#{self.action_index}: {self.status}"


class StaffTaskKind(models.TextChoices):
    TASK = "task", _("Task")
    POPUP = "popup", _("Pop-up")


class StaffTask(models.Model):
    """A task or pop-up on a team's staff console; kept here so a reconnecting panel resyncs."""

    delivery = models.OneToOneField(
        Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="staff_task"
    )
    team = models.CharField(max_length=60)
    kind = models.CharField(max_length=10, choices=StaffTaskKind.choices, default="task")
    customer_id = models.CharField(max_length=128, blank=True)
    message = models.TextField()
    is_done = models.BooleanField(default=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "is_done", "created_at"])]

    def __str__(self) -> str:
        return f"{self.team}: {self.message[:40]}"
