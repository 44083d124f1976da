"""Writes for offers and their coupon pools.

Templates are checked on every save: an unknown placeholder is refused with its name and the
field it is in, so nothing unrenderable reaches a customer.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from campaigns.models import Coupon, CouponPool, Offer
from campaigns.offers.rendering import TemplateError, payload_validate, template_validate
from merchants.models import Merchant

TEMPLATE_FIELDS = ("push_title", "push_body", "sms_body", "email_subject", "email_body")
OFFER_FIELDS = (
    "slug",
    "name",
    "description",
    *TEMPLATE_FIELDS,
    "webhook_payload",
    "link_url",
    "coupon_value",
    "coupon_currency",
    "is_percent",
    "per_customer_limit",
    "is_active",
)
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
PATTERN_ALPHABET = {
    "#": "0123456789",
    "?": "ABCDEFGHJKLMNPQRSTUVWXYZ",  # no I or O: they read as 1 and 0
    "*": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
}
MAX_POOL_BATCH = 100_000


def offer_templates_validate(values: Mapping[str, object]) -> None:
    """Raises ValidationError keyed by the field whose template names an unknown placeholder."""
    errors: dict[str, str] = {}
    for field in TEMPLATE_FIELDS:
        text = values.get(field)
        if isinstance(text, str):
            try:
                template_validate(text)
            except TemplateError as error:
                errors[field] = str(error)
    payload = values.get("webhook_payload")
    if payload not in (None, ""):
        if not isinstance(payload, dict):
            errors["webhook_payload"] = gettext("The webhook payload must be a JSON object.")
        else:
            try:
                payload_validate(payload)
            except TemplateError as error:
                errors["webhook_payload"] = f"{error} (at {error.field})"
    if errors:
        raise ValidationError(errors)


def _offer_apply(offer: Offer, values: Mapping[str, object]) -> None:
    for field in OFFER_FIELDS:
        if field in values:
            setattr(offer, field, values[field])
    if not offer.slug:
        offer.slug = slugify(offer.name)[:80] or secrets.token_hex(4)
    if offer.coupon_value is not None and not isinstance(offer.coupon_value, Decimal):
        offer.coupon_value = Decimal(str(offer.coupon_value))


@transaction.atomic
def offer_create(*, values: Mapping[str, object], merchant: Merchant | None = None) -> Offer:
    offer_templates_validate(values)
    offer = Offer(merchant=merchant)
    _offer_apply(offer, values)
    offer.full_clean()
    offer.save()
    return offer


@transaction.atomic
def offer_update(*, offer: Offer, values: Mapping[str, object]) -> Offer:
    offer_templates_validate(values)
    _offer_apply(offer, values)
    offer.full_clean()
    offer.save()
    return offer


def pool_ensure(*, offer: Offer) -> CouponPool:
    pool, _ = CouponPool.objects.get_or_create(offer=offer)
    return pool


def pattern_capacity(pattern: str) -> int:
    capacity = 1
    for character in pattern:
        capacity *= len(PATTERN_ALPHABET.get(character, "x"))
    return capacity


def _code_from(pattern: str) -> str:
    return "".join(
        secrets.choice(PATTERN_ALPHABET[character]) if character in PATTERN_ALPHABET else character
        for character in pattern
    )


@dataclass(frozen=True, slots=True)
class PoolChange:
    added: int
    duplicates: int = 0
    invalid: tuple[str, ...] = ()


def _pool_settings_apply(
    pool: CouponPool, *, expires_at: datetime | None, low_water_mark: int | None
) -> None:
    if expires_at is not None:
        pool.expires_at = expires_at
    if low_water_mark is not None:
        pool.low_water_mark = low_water_mark
    pool.exhausted_at = None  # refilled: issuing may resume and a new shortage alerts again
    pool.save()


@transaction.atomic
def pool_generate(
    *,
    offer: Offer,
    pattern: str,
    count: int,
    expires_at: datetime | None = None,
    low_water_mark: int | None = None,
) -> PoolChange:
    """Adds ``count`` new random codes following ``pattern`` (# digit, ? letter, * either)."""
    if not pattern or len(pattern) > 60:
        raise ValidationError(
            {"pattern": gettext("Give a pattern of 1 to 60 characters, e.g. SAVE-####.")}
        )
    if not any(character in PATTERN_ALPHABET for character in pattern):
        raise ValidationError(
            {"pattern": gettext("The pattern needs at least one #, ? or * to vary.")}
        )
    literal = pattern.translate({ord(character): "A" for character in PATTERN_ALPHABET})
    if not CODE_PATTERN.match(literal):
        raise ValidationError(
            {"pattern": gettext("Use letters, digits, - and _ only, and at least 3 characters.")}
        )
    if not 1 <= count <= MAX_POOL_BATCH:
        raise ValidationError(
            {
                "count": gettext("Generate between 1 and %(max_pool_batch)s codes.")
                % {"max_pool_batch": f"{MAX_POOL_BATCH:,}"}
            }
        )
    # Random codes collide; keep the space at least 100x the codes so guessing one is hopeless.
    if pattern_capacity(pattern) < count * 100:
        raise ValidationError(
            {
                "pattern": gettext("This pattern has too few combinations for %(count)s codes.")
                % {"count": f"{count:,}"}
            }
        )
    pool = pool_ensure(offer=offer)
    pool.pattern = pattern
    _pool_settings_apply(pool, expires_at=expires_at, low_water_mark=low_water_mark)
    before = Coupon.objects.filter(pool=pool).count()
    added = 0
    for _ in range(20):  # collisions are rare at >= 100x capacity; a few rounds always suffice
        wanted = count - added
        if wanted <= 0:
            break
        codes = {_code_from(pattern) for _ in range(wanted)}
        Coupon.objects.bulk_create(
            [Coupon(pool=pool, code=code) for code in codes], ignore_conflicts=True
        )
        added = Coupon.objects.filter(pool=pool).count() - before
    return PoolChange(added=min(added, count))


@transaction.atomic
def pool_upload(
    *,
    offer: Offer,
    codes: Iterable[str],
    expires_at: datetime | None = None,
    low_water_mark: int | None = None,
) -> PoolChange:
    """Adds uploaded codes (one per line); skips blanks, refuses the batch if any is malformed."""
    cleaned: list[str] = []
    invalid: list[str] = []
    for raw in codes:
        code = raw.strip().strip('"').strip()
        if not code:
            continue
        (cleaned if CODE_PATTERN.match(code) else invalid).append(code)
    if invalid:
        shown = ", ".join(repr(code[:40]) for code in invalid[:5])
        raise ValidationError(
            {
                "codes": gettext(
                    "%(invalid)s codes are not valid (letters, digits, - and _): %(shown)s"
                )
                % {"invalid": len(invalid), "shown": shown}
            }
        )
    if not cleaned:
        raise ValidationError({"codes": gettext("The upload has no codes.")})
    if len(cleaned) > MAX_POOL_BATCH:
        raise ValidationError(
            {
                "codes": gettext("Upload at most %(max_pool_batch)s codes at a time.")
                % {"max_pool_batch": f"{MAX_POOL_BATCH:,}"}
            }
        )
    pool = pool_ensure(offer=offer)
    _pool_settings_apply(pool, expires_at=expires_at, low_water_mark=low_water_mark)
    unique = list(dict.fromkeys(cleaned))
    existing = set(Coupon.objects.filter(pool=pool, code__in=unique).values_list("code", flat=True))
    new_codes = [code for code in unique if code not in existing]
    Coupon.objects.bulk_create(
        [Coupon(pool=pool, code=code) for code in new_codes], ignore_conflicts=True
    )
    return PoolChange(added=len(new_codes), duplicates=len(cleaned) - len(new_codes))


def coupon_redeem(*, pool: CouponPool, code: str) -> bool:
    """Marks an issued code redeemed, once; answers whether this call redeemed it."""
    return bool(
        Coupon.objects.filter(pool=pool, code=code, status="issued").update(
            status="redeemed", redeemed_at=timezone.now()
        )
    )
