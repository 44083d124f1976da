from __future__ import annotations

from django.db import models


class Customer(models.Model):
    """A customer profile: the bank's identifier and its traits (age, region, facts set by rules).

    PostgreSQL is the system of record; ``segments.services`` mirrors ``traits`` into Redis
    (``cdp:profile:<customer_id>``) on every change for the engine to read.
    """

    customer_id = models.CharField(max_length=128, unique=True)
    traits = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return self.customer_id
