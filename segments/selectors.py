"""Reads of customer profiles: the Redis mirror for the engine, lists and pages."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from django.db.models import Q, QuerySet

from realtime import streams
from segments.models import Customer, CustomerImport


def profile_mirror_get_many(customer_ids: Iterable[str]) -> dict[str, dict]:
    """The mirrored traits of these customers in one MGET; customers without a profile are
    left out."""
    identifiers = list(dict.fromkeys(customer_ids))
    if not identifiers:
        return {}
    values = streams.redis_client().mget([streams.profile_key(i) for i in identifiers])
    return {
        customer_id: orjson.loads(value)
        for customer_id, value in zip(identifiers, values, strict=True)
        if value is not None
    }


def customer_list(*, search: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.order_by("customer_id")
    if search:
        customers = customers.filter(Q(customer_id__icontains=search))
    return customers


def customer_get(customer_id: str) -> Customer | None:
    return Customer.objects.filter(customer_id=customer_id).first()


def customer_import_list() -> QuerySet[CustomerImport]:
    return CustomerImport.objects.defer("content").order_by("-created_at")
