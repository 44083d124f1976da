from __future__ import annotations

from django.conf import settings
from django.db import models


class Merchant(models.Model):
    """A card issuer's merchant (a coffee shop, a bakery) that designs its own offers."""

    name = models.CharField(max_length=200, unique=True)
    business_category = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
