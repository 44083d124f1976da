"""What the bank lets merchants choose from: regions, trigger templates, bounds, segments.

The bounds and exposed segments are settings (``CDP_MERCHANT_*``); the trigger templates are
the bank's, kept here because each one decides how the offer's area becomes a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

#: Seoul's 25 districts (gu), the administrative regions card transactions carry.
REGIONS: tuple[str, ...] = (
    "Dobong-gu", "Dongdaemun-gu", "Dongjak-gu", "Eunpyeong-gu", "Gangbuk-gu", "Gangdong-gu",
    "Gangnam-gu", "Gangseo-gu", "Geumcheon-gu", "Guro-gu", "Gwanak-gu", "Gwangjin-gu",
    "Jongno-gu", "Jung-gu", "Jungnang-gu", "Mapo-gu", "Nowon-gu", "Seocho-gu",
    "Seodaemun-gu", "Seongbuk-gu", "Seongdong-gu", "Songpa-gu", "Yangcheon-gu",
    "Yeongdeungpo-gu", "Yongsan-gu",
)  # fmt: skip

WEEKDAYS: tuple[str, ...] = (
    pgettext_lazy("weekday", "Mon"),
    pgettext_lazy("weekday", "Tue"),
    pgettext_lazy("weekday", "Wed"),
    pgettext_lazy("weekday", "Thu"),
    pgettext_lazy("weekday", "Fri"),
    pgettext_lazy("weekday", "Sat"),
    pgettext_lazy("weekday", "Sun"),
)


@dataclass(frozen=True)
class TriggerTemplate:
    """A bank-defined trigger a merchant can pick.

    ``area`` says how the offer's area applies: ``"event"`` filters the trigger event's own
    ``region`` (or ``lat``/``lon`` for a radius), ``"profile"`` the customer's home ``region``
    (events such as a salary deposit carry no place).
    """

    slug: str
    label: str
    help: str
    event: str
    area: str
    needs_radius: bool = False


TRIGGERS: dict[str, TriggerTemplate] = {
    template.slug: template
    for template in (
        TriggerTemplate(
            "card_transaction_in_region",
            _("Card transaction in the area"),
            _("The customer pays by card anywhere in the area you choose."),
            "card_transaction",
            "event",
        ),
        TriggerTemplate(
            "app_opened_near_store",
            _("App opened near the store"),
            _("The customer opens the bank's app within the radius around your store."),
            "app_open",
            "event",
            needs_radius=True,
        ),
        TriggerTemplate(
            "payday",
            _("Payday"),
            _("The customer's salary arrives; the area is where the customer lives."),
            "salary_deposit",
            "profile",
        ),
    )
}


@dataclass(frozen=True)
class Bounds:
    percent_min: Decimal
    percent_max: Decimal
    amount_min: int
    amount_max: int
    max_coupons: int
    max_radius_m: int
    image_max_bytes: int
    min_group_size: int


def bounds() -> Bounds:
    return Bounds(
        percent_min=Decimal(str(settings.CDP_MERCHANT_PERCENT_MIN)),
        percent_max=Decimal(str(settings.CDP_MERCHANT_PERCENT_MAX)),
        amount_min=int(settings.CDP_MERCHANT_AMOUNT_MIN),
        amount_max=int(settings.CDP_MERCHANT_AMOUNT_MAX),
        max_coupons=int(settings.CDP_MERCHANT_MAX_COUPONS),
        max_radius_m=int(settings.CDP_MERCHANT_MAX_RADIUS_M),
        image_max_bytes=int(settings.CDP_MERCHANT_IMAGE_MAX_BYTES),
        min_group_size=int(settings.CDP_MERCHANT_MIN_GROUP_SIZE),
    )


def exposed_segments() -> dict[str, str]:
    """Customer groups merchants may target (``segment_tier`` trait value → label)."""
    return dict(settings.CDP_MERCHANT_SEGMENTS)
