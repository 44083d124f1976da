"""Merchant writes: merchants, stores, invited users, and the self-service offer lifecycle.

draft ──submit──▶ pending ──approve──▶ live ◀──resume── paused
  ▲                  │  └──reject──▶ rejected (final)        ▲
  └──(edit)── changes_requested ◀──ask for changes            └── pause (merchant or bank)

Only ``merchant_offer_approve`` (a bank marketer) makes an offer live: it creates the offer and
its coupon pool, compiles the builder's fields into a rule spec and creates, approves and
publishes a campaign with ``merchant`` set, through the campaign services. Every step writes a
:class:`MerchantOfferEvent`, which both sides see.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Min, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from cdp_site.demo import role_groups_ensure
from cdp_site.roles import Role, user_has_role
from merchants.catalog import REGIONS, TRIGGERS, bounds, exposed_segments
from merchants.models import (
    AreaKind,
    DiscountKind,
    Gender,
    Merchant,
    MerchantMembership,
    MerchantOffer,
    MerchantOfferAction,
    MerchantOfferEvent,
    MerchantOfferStatus,
    Store,
)
from merchants.spec import merchant_offer_slug, merchant_offer_to_spec

USERNAME = re.compile(r"^[\w.@+-]{3,150}$")
#: Image types accepted, by their leading bytes (the upload's own content type is not trusted).
IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
MAX_TITLE = 120
MAX_DESCRIPTION = 1000
MAX_VALID_DAYS = 60
MAX_PERIOD_DAYS = 366
PAUSED_BY_MERCHANT = "merchant"
PAUSED_BY_BANK = "bank"
PAUSED_BY_PACING = "pacing"


# --- merchants, stores, users ---------------------------------------------------------------


@transaction.atomic
def merchant_create(*, name: str, business_category: str = "") -> Merchant:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the merchant a name.")})
    if Merchant.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("There is already a merchant called “%(name)s”.") % {"name": name}}
        )
    return Merchant.objects.create(name=name[:200], business_category=business_category.strip())


@transaction.atomic
def store_create(
    *,
    merchant: Merchant,
    name: str,
    region: str,
    latitude: Decimal | float | str,
    longitude: Decimal | float | str,
    address: str = "",
) -> Store:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Give the store a name.")
    elif merchant.stores.filter(name__iexact=name).exists():
        errors["name"] = _("%(name)s already has a store called “%(name2)s”.") % {
            "name": merchant.name,
            "name2": name,
        }
    if region not in REGIONS:
        errors["region"] = _("'%(region)s' is not an administrative region the bank knows.") % {
            "region": region
        }
    coordinates: dict[str, Decimal] = {}
    # The keys double as words in the messages (``_(key)``).
    gettext_noop("latitude"), gettext_noop("longitude")
    for key, value, limit in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        try:
            number = Decimal(str(value)).quantize(Decimal("0.000001"))
        except (InvalidOperation, ValueError):
            errors[key] = _("The %(key)s is a number such as 37.4979.") % {"key": _(key)}
            continue
        if not -limit <= number <= limit:
            errors[key] = _("The %(key)s must be between -%(limit)s and %(limit)s.") % {
                "key": _(key),
                "limit": limit,
            }
        coordinates[key] = number
    if errors:
        raise ValidationError(errors)
    return Store.objects.create(
        merchant=merchant,
        name=name[:200],
        region=region,
        address=address.strip()[:300],
        latitude=coordinates["latitude"],
        longitude=coordinates["longitude"],
    )


@dataclass(frozen=True)
class Invitation:
    user: Any
    set_password_path: str


def set_password_path(user: Any) -> str:
    """A one-time link: the token is tied to the password hash, so it dies once it is used."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("merchants:welcome", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def merchant_user_invite(*, merchant: Merchant, username: str, email: str = "") -> Invitation:
    """A merchant-role user of ``merchant`` with no password yet, and the link to set one."""
    username = username.strip()
    user_model = get_user_model()
    if not USERNAME.match(username):
        raise ValidationError(
            {"username": _("Use 3 to 150 letters, digits and @ . + - _ for the username.")}
        )
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError(
            {"username": _("The username “%(username)s” is taken.") % {"username": username}}
        )
    user = user_model(username=username, email=email.strip())
    user.set_unusable_password()
    user.save()
    user.groups.add(role_groups_ensure()[Role.MERCHANT])
    MerchantMembership.objects.create(user=user, merchant=merchant)
    return Invitation(user=user, set_password_path=set_password_path(user))


# --- the offer builder ----------------------------------------------------------------------


@dataclass(frozen=True)
class ImageUpload:
    content: bytes
    name: str = ""


@dataclass(frozen=True)
class OfferInput:
    """The builder's fields, parsed but not yet checked against the bank's bounds."""

    title: str = ""
    description: str = ""
    discount_kind: str = DiscountKind.PERCENT
    discount_value: Decimal | None = None
    age_min: int | None = None
    age_max: int | None = None
    gender: str = Gender.ANY
    segments: tuple[str, ...] = ()
    area_kind: str = AreaKind.REGIONS
    regions: tuple[str, ...] = ()
    store_id: int | None = None
    radius_m: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    days_of_week: tuple[int, ...] = ()
    hour_from: dt.time | None = None
    hour_to: dt.time | None = None
    max_coupons: int | None = None
    max_redemptions: int | None = None
    daily_cap: int | None = None
    trigger: str = "card_transaction_in_region"
    valid_days: int = 7
    image: ImageUpload | None = None
    remove_image: bool = False
    extra_errors: dict[str, str] = field(default_factory=dict)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def _one_line(text: str) -> str:
    """Titles are one line: CR, LF and other control characters become spaces."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ")))


def _clean_text(text: str) -> str:
    return unicodedata.normalize("NFC", _CONTROL.sub("", text.replace("\r\n", "\n"))).strip()


def image_content_type(content: bytes) -> str | None:
    for signature, content_type in IMAGE_SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def merchant_offer_problems(
    *, merchant: Merchant, values: OfferInput, today: dt.date | None = None
) -> dict[str, str]:
    """Every field the bank's bounds refuse, with a sentence naming it. Empty when all hold."""
    limits = bounds()
    today = today or timezone.localdate()
    errors: dict[str, str] = dict(values.extra_errors)

    def refuse(name: str, message: str) -> None:
        errors.setdefault(name, message)

    title = _one_line(values.title).strip()
    if not title:
        refuse("title", _("Title: give the offer a title customers will see."))
    elif len(title) > MAX_TITLE:
        refuse("title", _("Title: at most %(max_title)s characters.") % {"max_title": MAX_TITLE})
    if len(values.description) > MAX_DESCRIPTION:
        refuse(
            "description",
            _("Description: at most %(max_description)s characters.")
            % {"max_description": MAX_DESCRIPTION},
        )
    if values.image is not None:
        if len(values.image.content) > limits.image_max_bytes:
            refuse(
                "image",
                _("Image: the file is %(size)s KB; the limit is %(limit)s KB.")
                % {
                    "size": f"{len(values.image.content) // 1024:,}",
                    "limit": f"{limits.image_max_bytes // 1024:,}",
                },
            )
        elif image_content_type(values.image.content) is None:
            refuse("image", _("Image: upload a PNG, JPEG, GIF or WebP picture."))

    value = values.discount_value
    if values.discount_kind not in DiscountKind.values:
        refuse("discount_kind", _("Discount: choose a percentage or an amount off."))
    elif value is None:
        refuse("discount_value", _("Discount: enter how much off."))
    elif values.discount_kind == DiscountKind.PERCENT:
        if not limits.percent_min <= value <= limits.percent_max:
            refuse(
                "discount_value",
                _("Discount: the bank allows %(low)s%% to %(high)s%% off; you entered %(value)s%%.")
                % {
                    "low": f"{limits.percent_min.normalize():f}",
                    "high": f"{limits.percent_max.normalize():f}",
                    "value": f"{value.normalize():f}",
                },
            )
    elif not limits.amount_min <= value <= limits.amount_max or value != value.to_integral():
        refuse(
            "discount_value",
            _(
                "Discount: the bank allows %(amount_min)s to %(amount_max)s KRW off in whole won; "
                "you entered %(value)s."
            )
            % {
                "amount_min": f"{limits.amount_min:,}",
                "amount_max": f"{limits.amount_max:,}",
                "value": f"{value.normalize():f}",
            },
        )

    for name, age in (("age_min", values.age_min), ("age_max", values.age_max)):
        if age is not None and not 19 <= age <= 100:
            refuse(name, _("Age: customers from 19 to 100 years old (adults only)."))
    if (
        values.age_min is not None
        and values.age_max is not None
        and values.age_min > values.age_max
    ):
        refuse("age_max", _("Age: the upper end of the age band is below the lower end."))
    if values.gender not in Gender.values:
        refuse("gender", _("Gender: choose everyone, women or men."))
    allowed_segments = exposed_segments()
    for segment in values.segments:
        if segment not in allowed_segments:
            refuse(
                "segments",
                _("Customer group: '%(segment)s' is not one the bank offers.")
                % {"segment": segment},
            )

    template = TRIGGERS.get(values.trigger)
    if template is None:
        refuse("trigger", _("Trigger: choose one of the bank's triggers."))
    stores = {store.pk: store for store in merchant.stores.all()}
    own_regions = {store.region for store in stores.values()}
    if values.area_kind == AreaKind.REGIONS:
        if template is not None and template.needs_radius:
            refuse(
                "area_kind",
                _("Area: “%(label)s” works with a radius around a store.")
                % {"label": template.label},
            )
        if not values.regions:
            refuse("regions", _("Region: choose at least one region."))
        for region in values.regions:
            if region not in REGIONS:
                refuse(
                    "regions",
                    _("Region: '%(region)s' is not an administrative region.") % {"region": region},
                )
            elif region not in own_regions:
                refuse(
                    "regions",
                    _("Region: %(region)s is outside your stores' regions (%(regions)s).")
                    % {
                        "region": region,
                        "regions": ", ".join(sorted(own_regions)) or _("none yet"),
                    },
                )
    elif values.area_kind == AreaKind.RADIUS:
        if template is not None and template.area == "profile":
            refuse(
                "area_kind",
                _("Area: “%(label)s” works with regions, not a radius.")
                % {"label": template.label},
            )
        if values.store_id not in stores:
            refuse("store", _("Store: choose one of your stores for the radius."))
        if values.radius_m is None or not 100 <= values.radius_m <= limits.max_radius_m:
            refuse(
                "radius_m",
                _("Radius: from 100 to %(max_radius_m)s metres.")
                % {"max_radius_m": f"{limits.max_radius_m:,}"},
            )
    else:
        refuse("area_kind", _("Area: choose regions or a radius around a store."))

    start, end = values.start_date, values.end_date
    if start is None:
        refuse("start_date", _("Start date: enter the first day of the offer."))
    elif start < today:
        refuse(
            "start_date",
            _("Start date: %(start)s is in the past.") % {"start": f"{start:%Y-%m-%d}"},
        )
    if end is None:
        refuse("end_date", _("End date: enter the last day of the offer."))
    elif start is not None and end < start:
        refuse("end_date", _("End date: the offer ends before it starts."))
    elif start is not None and (end - start).days >= MAX_PERIOD_DAYS:
        refuse(
            "end_date",
            _("End date: an offer runs at most %(max_period_days)s days.")
            % {"max_period_days": MAX_PERIOD_DAYS},
        )
    if any(not 0 <= day <= 6 for day in values.days_of_week):
        refuse("days_of_week", _("Days: choose days from Monday to Sunday."))
    if (values.hour_from is None) != (values.hour_to is None):
        refuse("hour_to", _("Hours: give both the opening and the closing time, or neither."))
    elif values.hour_from is not None and values.hour_from == values.hour_to:
        refuse("hour_to", _("Hours: the closing time equals the opening time."))

    if values.max_coupons is None or values.max_coupons < 1:
        refuse("max_coupons", _("Budget: the maximum of coupons must be at least 1."))
    elif values.max_coupons > limits.max_coupons:
        refuse(
            "max_coupons",
            _("Budget: at most %(max_coupons)s coupons per offer.")
            % {"max_coupons": f"{limits.max_coupons:,}"},
        )
    for name, label in (
        ("max_redemptions", _("redemptions")),
        ("daily_cap", _("coupons a day")),
    ):
        number = getattr(values, name)
        if number is not None and number < 1:
            refuse(
                name,
                _("Budget: the maximum of %(label)s must be at least 1 (or left empty).")
                % {"label": label},
            )
        elif number is not None and values.max_coupons and number > values.max_coupons:
            refuse(
                name,
                _("Budget: the maximum of %(label)s is above the maximum of coupons.")
                % {"label": label},
            )
    if not 1 <= values.valid_days <= MAX_VALID_DAYS:
        refuse(
            "valid_days",
            _("Validity: a coupon is valid for 1 to %(max_valid_days)s days.")
            % {"max_valid_days": MAX_VALID_DAYS},
        )
    return errors


def _apply(offer: MerchantOffer, values: OfferInput) -> None:
    offer.title = _one_line(values.title).strip()[:MAX_TITLE]
    offer.description = _clean_text(values.description)[:MAX_DESCRIPTION]
    offer.discount_kind = values.discount_kind
    offer.discount_value = values.discount_value  # type: ignore[assignment]  # checked
    offer.age_min, offer.age_max = values.age_min, values.age_max
    offer.gender = values.gender
    offer.segments = sorted(set(values.segments))
    offer.area_kind = values.area_kind
    is_radius = values.area_kind == AreaKind.RADIUS
    offer.regions = [] if is_radius else sorted(set(values.regions))
    offer.store_id = values.store_id if is_radius else None
    offer.radius_m = values.radius_m if is_radius else None
    offer.start_date = values.start_date  # type: ignore[assignment]  # checked
    offer.end_date = values.end_date  # type: ignore[assignment]  # checked
    offer.days_of_week = sorted(set(values.days_of_week))
    offer.hour_from, offer.hour_to = values.hour_from, values.hour_to
    offer.max_coupons = values.max_coupons  # type: ignore[assignment]  # checked
    offer.max_redemptions = values.max_redemptions
    offer.daily_cap = values.daily_cap
    offer.trigger = values.trigger
    offer.valid_days = values.valid_days
    if values.image is not None:
        offer.image = values.image.content
        offer.image_content_type = image_content_type(values.image.content) or ""
    elif values.remove_image:
        offer.image = None
        offer.image_content_type = ""


def _log(
    offer: MerchantOffer, user: Any, action: MerchantOfferAction, comment: str = ""
) -> MerchantOfferEvent:
    is_bank = user is None or not hasattr(user, "merchant_membership")
    return MerchantOfferEvent.objects.create(
        offer=offer, user=user, is_bank=is_bank, action=action, comment=comment
    )


def _check(merchant: Merchant, values: OfferInput) -> None:
    problems = merchant_offer_problems(merchant=merchant, values=values)
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def merchant_offer_create(*, merchant: Merchant, user: Any, values: OfferInput) -> MerchantOffer:
    _check(merchant, values)
    offer = MerchantOffer(merchant=merchant, created_by=user)
    _apply(offer, values)
    offer.save()
    _log(offer, user, MerchantOfferAction.CREATED)
    return offer


class TransitionRefused(Exception):
    """The offer is not in a state that allows this step; ``message`` is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _locked(offer: MerchantOffer) -> MerchantOffer:
    return MerchantOffer.objects.select_for_update().select_related("merchant").get(pk=offer.pk)


@transaction.atomic
def merchant_offer_update(*, offer: MerchantOffer, user: Any, values: OfferInput) -> MerchantOffer:
    current = _locked(offer)
    if not current.is_editable:
        raise TransitionRefused(
            _(
                "This offer is %(status)s; only drafts and offers the bank sent back for changes "
                "can be edited."
            )
            % {"status": current.get_status_display().lower()}
        )
    _check(current.merchant, values)
    _apply(current, values)
    current.save()
    _log(current, user, MerchantOfferAction.EDITED)
    return current


def merchant_offer_input(offer: MerchantOffer) -> OfferInput:
    return OfferInput(
        title=offer.title,
        description=offer.description,
        discount_kind=offer.discount_kind,
        discount_value=offer.discount_value,
        age_min=offer.age_min,
        age_max=offer.age_max,
        gender=offer.gender,
        segments=tuple(offer.segments),
        area_kind=offer.area_kind,
        regions=tuple(offer.regions),
        store_id=offer.store_id,
        radius_m=offer.radius_m,
        start_date=offer.start_date,
        end_date=offer.end_date,
        days_of_week=tuple(offer.days_of_week),
        hour_from=offer.hour_from,
        hour_to=offer.hour_to,
        max_coupons=offer.max_coupons,
        max_redemptions=offer.max_redemptions,
        daily_cap=offer.daily_cap,
        trigger=offer.trigger,
        valid_days=offer.valid_days,
    )


@transaction.atomic
def merchant_offer_submit(*, offer: MerchantOffer, user: Any, comment: str = "") -> MerchantOffer:
    current = _locked(offer)
    if not current.is_editable:
        raise TransitionRefused(
            _("This offer is %(status)s; it cannot be submitted.")
            % {"status": current.get_status_display().lower()}
        )
    _check(current.merchant, merchant_offer_input(current))
    current.status = MerchantOfferStatus.PENDING
    current.submitted_by = user
    current.submitted_at = timezone.now()
    current.save()
    _log(current, user, MerchantOfferAction.SUBMITTED, comment)
    return current


def _require_bank_marketer(user: Any) -> None:
    if hasattr(user, "merchant_membership") or not user_has_role(user, Role.MARKETER):
        raise PermissionDenied(_("Only the bank's marketers decide on merchant offers."))


def _require_pending(offer: MerchantOffer, step: str) -> None:
    if offer.status != MerchantOfferStatus.PENDING:
        raise TransitionRefused(
            _("Only an offer waiting for approval can be %(step)s; this one is %(offer)s.")
            % {"step": step, "offer": offer.get_status_display().lower()}
        )


def _inert(text: str) -> str:
    """Merchant text inside an offer template stays text: ``{{`` can never open a placeholder."""
    return text.replace("{", "{\u200b").replace("}", "\u200b}")


def _offer_values(offer: MerchantOffer) -> dict[str, object]:
    merchant = _inert(_one_line(offer.merchant.name))
    title = _inert(offer.title)
    description = _inert(offer.description)
    discount = offer.discount_text
    body = f"{description}\n" if description else ""
    return {
        "slug": merchant_offer_slug(offer),
        "name": f"{offer.merchant.name}: {offer.title}"[:200],
        "description": offer.description,
        "push_title": f"{merchant}: {title}"[:200],
        "push_body": f"{body}{discount} with code {{{{ coupon.code }}}}, "
        "valid until {{ coupon.expires_at }}.",
        "sms_body": f"[{merchant}] {title}: {discount} with code {{{{ coupon.code }}}}.",
        "email_subject": f"{merchant}: {title}"[:300],
        "email_body": f"{body}{discount} with code {{{{ coupon.code }}}}.",
        "coupon_value": offer.discount_value,
        "coupon_currency": "KRW",
        "is_percent": offer.discount_kind == DiscountKind.PERCENT,
        "per_customer_limit": 1,
    }


def _coupons_expire_at(offer: MerchantOffer) -> dt.datetime:
    last = offer.end_date + dt.timedelta(days=offer.valid_days + 1)
    return dt.datetime.combine(last, dt.time.min, tzinfo=timezone.get_current_timezone())


@transaction.atomic
def merchant_offer_approve(*, offer: MerchantOffer, user: Any, comment: str = "") -> MerchantOffer:
    """Makes the offer live: offer + coupon pool, then a published campaign of this merchant."""
    from campaigns import services as campaign_services

    _require_bank_marketer(user)
    current = _locked(offer)
    _require_pending(current, _("approved"))
    problems = merchant_offer_problems(
        merchant=current.merchant, values=merchant_offer_input(current)
    )
    problems.pop("start_date", None)  # a start that passed while waiting means it starts now
    if current.end_date < timezone.localdate():
        problems["end_date"] = _("End date: the offer ended on %(end_date)s.") % {
            "end_date": f"{current.end_date:%Y-%m-%d}"
        }
    if problems:
        raise TransitionRefused(" ".join(problems.values()))
    try:
        with transaction.atomic():
            return _go_live(current, user, comment)
    except (campaign_services.CampaignError, ValidationError) as failure:
        # e.g. the event registry lacks an attribute the offer's area needs: say so, change nothing
        if isinstance(failure, ValidationError):
            text = " ".join(failure.messages)
        else:
            text = failure.message
        raise TransitionRefused(
            _("The offer could not go live: %(text)s") % {"text": text}
        ) from failure


def _go_live(current: MerchantOffer, user: Any, comment: str) -> MerchantOffer:
    from campaigns import services as campaign_services
    from campaigns.offers import services as offer_services

    offer_row = offer_services.offer_create(
        values=_offer_values(current), merchant=current.merchant
    )
    offer_services.pool_generate(
        offer=offer_row,
        pattern=f"M{current.merchant_id}-********",
        count=current.max_coupons,
        expires_at=_coupons_expire_at(current),
    )
    current.offer = offer_row
    submitter = current.submitted_by or current.created_by
    campaign = campaign_services.campaign_create(
        user=submitter,
        name=f"{current.merchant.name}: {current.title}"[:200],
        description=f"Merchant offer #{current.pk} of {current.merchant.name}.",
        spec=merchant_offer_to_spec(current, holdout=float(settings.CDP_MERCHANT_HOLDOUT)),
        merchant=current.merchant,
        requires_approval=True,
    )
    campaign_services.campaign_submit_for_approval(campaign=campaign, user=submitter)
    campaign_services.campaign_approve(campaign=campaign, user=user, comment=comment)
    campaign_services.campaign_publish(campaign=campaign, user=user, comment=comment)
    campaign.refresh_from_db()  # the lifecycle services changed their own locked copy
    current.campaign = campaign
    current.status = MerchantOfferStatus.LIVE
    current.decided_by = user
    current.save()
    _log(current, user, MerchantOfferAction.APPROVED, comment)
    _log(current, user, MerchantOfferAction.PUBLISHED)
    return current


def _comment_required(comment: str, what: str) -> str:
    comment = _clean_text(comment)
    if not comment:
        raise ValidationError(
            {"comment": _("Comment: tell the merchant why you %(what)s.") % {"what": what}}
        )
    return comment[:2000]


@transaction.atomic
def merchant_offer_reject(*, offer: MerchantOffer, user: Any, comment: str) -> MerchantOffer:
    _require_bank_marketer(user)
    comment = _comment_required(comment, _("reject the offer"))
    current = _locked(offer)
    _require_pending(current, _("rejected"))
    current.status = MerchantOfferStatus.REJECTED
    current.decided_by = user
    current.save()
    _log(current, user, MerchantOfferAction.REJECTED, comment)
    return current


@transaction.atomic
def merchant_offer_request_changes(
    *, offer: MerchantOffer, user: Any, comment: str
) -> MerchantOffer:
    _require_bank_marketer(user)
    comment = _comment_required(comment, _("send the offer back"))
    current = _locked(offer)
    _require_pending(current, _("sent back for changes"))
    current.status = MerchantOfferStatus.CHANGES_REQUESTED
    current.decided_by = user
    current.save()
    _log(current, user, MerchantOfferAction.CHANGES_REQUESTED, comment)
    return current


@transaction.atomic
def merchant_offer_pause(
    *, offer: MerchantOffer, user: Any, comment: str = "", reason: str = ""
) -> MerchantOffer:
    """Stops issuing coupons at once (the engine drops the campaign on its next reload)."""
    from campaigns import services as campaign_services
    from campaigns.models import CampaignStatus

    current = _locked(offer)
    if current.status != MerchantOfferStatus.LIVE:
        raise TransitionRefused(
            _("Only a live offer can be paused; this one is %(status)s.")
            % {"status": current.get_status_display().lower()}
        )
    if current.campaign is not None and current.campaign.status == CampaignStatus.PUBLISHED:
        campaign_services.campaign_pause(campaign=current.campaign, user=user, comment=comment)
    current.status = MerchantOfferStatus.PAUSED
    if not reason:
        reason = PAUSED_BY_MERCHANT if hasattr(user, "merchant_membership") else PAUSED_BY_BANK
    current.pause_reason = reason
    current.save()
    _log(current, user, MerchantOfferAction.PAUSED, comment)
    return current


@transaction.atomic
def merchant_offer_resume(*, offer: MerchantOffer, user: Any, comment: str = "") -> MerchantOffer:
    from campaigns import services as campaign_services
    from campaigns.models import CampaignStatus

    current = _locked(offer)
    if current.status != MerchantOfferStatus.PAUSED:
        raise TransitionRefused(
            _("Only a paused offer can be resumed; this one is %(status)s.")
            % {"status": current.get_status_display().lower()}
        )
    if current.end_date < timezone.localdate():
        raise TransitionRefused(
            _("The offer ended on %(end_date)s.") % {"end_date": f"{current.end_date:%Y-%m-%d}"}
        )
    if current.campaign is not None and current.campaign.status == CampaignStatus.PAUSED:
        campaign_services.campaign_resume(campaign=current.campaign, user=user, comment=comment)
    current.status = MerchantOfferStatus.LIVE
    current.pause_reason = ""
    current.save()
    _log(current, user, MerchantOfferAction.RESUMED, comment)
    return current


# --- redemptions and pacing -----------------------------------------------------------------


def merchant_coupons_redeem(*, merchant_ids: Sequence[int] | None = None) -> int:
    """Marks issued coupons of merchant offers redeemed once their decision has a conversion.

    A redemption is the customer's first card transaction at the merchant within the coupon's
    validity (the campaign goal's window): the engine records it as the decision's conversion.
    Card transactions from the switch carry no coupon code, so the code is not required.
    """
    from campaigns.models import Conversion, Coupon, CouponStatus

    first = (
        Conversion.objects.filter(decision_id=OuterRef("decision_id"))
        .order_by()
        .values("decision_id")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    coupons = Coupon.objects.filter(
        status=CouponStatus.ISSUED,
        pool__offer__merchant_offer__isnull=False,
        decision__conversions__isnull=False,
    )
    if merchant_ids is not None:
        coupons = coupons.filter(pool__offer__merchant_id__in=list(merchant_ids))
    ids = list(coupons.values_list("pk", flat=True).distinct())
    if not ids:
        return 0
    return Coupon.objects.filter(pk__in=ids, status=CouponStatus.ISSUED).update(
        status=CouponStatus.REDEEMED, redeemed_at=Subquery(first)
    )


def _pacing_hold(offer: MerchantOffer, *, issued_today: int, redeemed: int, today: dt.date) -> str:
    """Why the offer must not issue right now, in words; empty when it may."""
    if offer.max_redemptions is not None and redeemed >= offer.max_redemptions:
        return _("The maximum of %(max_redemptions)s redemptions was reached.") % {
            "max_redemptions": f"{offer.max_redemptions:,}"
        }
    if offer.days_of_week and today.weekday() not in offer.days_of_week:
        return _("Today is not one of the offer's days.")
    if offer.daily_cap is not None and issued_today >= offer.daily_cap:
        return _("Today's cap of %(daily_cap)s coupons was reached.") % {
            "daily_cap": f"{offer.daily_cap:,}"
        }
    return ""


def merchant_offer_pacing_apply(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Holds live offers on days they do not run, after the daily cap or the maximum of
    redemptions, and lets them run again when that no longer applies.

    The rule spec has no words for these three limits, so the campaign is paused and resumed
    (run every minute by Celery beat); an offer the merchant or the bank paused stays paused.
    """
    from campaigns.models import Decision, DecisionOutcome

    now = now or timezone.now()
    today = timezone.localdate(now)
    day_start = dt.datetime.combine(today, dt.time.min, tzinfo=timezone.get_current_timezone())
    candidates = list(
        MerchantOffer.objects.filter(campaign__isnull=False)
        .filter(
            status__in=[MerchantOfferStatus.LIVE, MerchantOfferStatus.PAUSED],
        )
        .exclude(
            status=MerchantOfferStatus.PAUSED,
            pause_reason__in=[PAUSED_BY_MERCHANT, PAUSED_BY_BANK],
        )
    )
    campaign_ids = [offer.campaign_id for offer in candidates]
    issued = dict(
        Decision.objects.filter(
            campaign_id__in=campaign_ids, outcome=DecisionOutcome.OFFER, occurred_at__gte=day_start
        )
        .values_list("campaign_id")
        .annotate(n=Count("id"))
    )
    redeemed = dict(
        Decision.objects.filter(
            campaign_id__in=campaign_ids,
            outcome=DecisionOutcome.OFFER,
            conversions__isnull=False,
        )
        .values_list("campaign_id")
        .annotate(n=Count("id", distinct=True))
    )
    held = resumed = 0
    for offer in candidates:
        reason = _pacing_hold(
            offer,
            issued_today=issued.get(offer.campaign_id, 0),
            redeemed=redeemed.get(offer.campaign_id, 0),
            today=today,
        )
        if reason and offer.status == MerchantOfferStatus.LIVE:
            merchant_offer_pause(offer=offer, user=None, comment=reason, reason=PAUSED_BY_PACING)
            held += 1
        elif not reason and offer.status == MerchantOfferStatus.PAUSED and offer.end_date >= today:
            merchant_offer_resume(offer=offer, user=None, comment=_("The offer may run again."))
            resumed += 1
    return {"held": held, "resumed": resumed}


def merchant_api_token_rotate(*, user: Any) -> str:
    """A new API token for a merchant user (the old one stops working)."""
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=user).delete()
    return str(Token.objects.create(user=user).key)


def default_min_group_size() -> int:
    return int(settings.CDP_MERCHANT_MIN_GROUP_SIZE)
