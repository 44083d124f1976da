from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Merchant(models.Model):
    """A card issuer's merchant (a coffee shop, a bakery) that designs its own offers."""

    name = models.CharField(max_length=200, unique=True)
    business_category = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MerchantMembership(models.Model):
    """Ties a user of the Merchant role to the one merchant whose data they may see."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="merchant_membership"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant}"


class Store(models.Model):
    """A store of a merchant: where it is (the administrative region and the coordinates)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300, blank=True)
    region = models.CharField(
        max_length=100, help_text="Administrative region, e.g. Gangnam-gu (see settings)."
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="store_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.merchant}: {self.name}"


class DiscountKind(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    AMOUNT = "amount", _("Amount off (KRW)")


class AreaKind(models.TextChoices):
    REGIONS = "regions", _("Administrative regions")
    RADIUS = "radius", _("Radius around a store")


class Gender(models.TextChoices):
    ANY = "any", _("Everyone")
    FEMALE = "f", _("Women")
    MALE = "m", _("Men")


class MerchantOfferStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for the bank's approval")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    REJECTED = "rejected", _("Rejected")
    LIVE = "live", _("Live")
    PAUSED = "paused", _("Paused")


class MerchantOffer(models.Model):
    """A merchant's self-service offer; once approved it runs as a campaign with this merchant.

    The fields are the builder's, not the rule spec: ``merchants.spec.merchant_offer_to_spec``
    turns them into the campaign's spec when the bank approves.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="offers")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    image = models.BinaryField(null=True, blank=True, editable=False)
    image_content_type = models.CharField(max_length=40, blank=True)
    discount_kind = models.CharField(
        max_length=10, choices=DiscountKind.choices, default=DiscountKind.PERCENT
    )
    discount_value = models.DecimalField(max_digits=10, decimal_places=2)
    age_min = models.PositiveSmallIntegerField(null=True, blank=True)
    age_max = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(max_length=10, choices=Gender.choices, default=Gender.ANY)
    segments = models.JSONField(default=list, blank=True)
    area_kind = models.CharField(max_length=10, choices=AreaKind.choices, default=AreaKind.REGIONS)
    regions = models.JSONField(default=list, blank=True)
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="offers"
    )
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    days_of_week = models.JSONField(
        default=list, blank=True, help_text="0 = Monday … 6 = Sunday; empty = every day."
    )
    hour_from = models.TimeField(null=True, blank=True)
    hour_to = models.TimeField(null=True, blank=True)
    max_coupons = models.PositiveIntegerField()
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    daily_cap = models.PositiveIntegerField(null=True, blank=True)
    trigger = models.CharField(max_length=40)
    valid_days = models.PositiveSmallIntegerField(
        default=7, help_text="A coupon is redeemable this many days after it was issued."
    )
    status = models.CharField(
        max_length=20, choices=MerchantOfferStatus.choices, default=MerchantOfferStatus.DRAFT
    )
    pause_reason = models.CharField(max_length=20, blank=True)
    campaign = models.OneToOneField(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merchant_offer",
    )
    offer = models.OneToOneField(
        "campaigns.Offer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merchant_offer",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["merchant", "status"]), models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.merchant}: {self.title}"

    @property
    def is_editable(self) -> bool:
        return self.status in (MerchantOfferStatus.DRAFT, MerchantOfferStatus.CHANGES_REQUESTED)

    @property
    def is_live(self) -> bool:
        return self.status == MerchantOfferStatus.LIVE

    @property
    def discount_text(self) -> str:
        if self.discount_kind == DiscountKind.PERCENT:
            return _("%(value)s%% off") % {"value": f"{self.discount_value.normalize():f}"}
        return _("%(value)s KRW off") % {"value": f"{int(self.discount_value):,}"}


class MerchantOfferAction(models.TextChoices):
    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submitted", _("Submitted for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    PUBLISHED = "published", _("Published (live)")
    PAUSED = "paused", _("Paused")
    RESUMED = "resumed", _("Resumed")


class MerchantOfferEvent(models.Model):
    """The audit log of a merchant offer, shown to the merchant and to the bank alike."""

    offer = models.ForeignKey(MerchantOffer, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_bank = models.BooleanField(
        default=False, help_text="Done by the bank (marketer, admin or the system)."
    )
    action = models.CharField(max_length=20, choices=MerchantOfferAction.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.action} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor(self) -> str:
        if self.user is None:
            return str(_("The bank (automatic)")) if self.is_bank else "—"
        who = _("bank") if self.is_bank else _("merchant")
        return f"{self.user.get_username()} ({who})"
