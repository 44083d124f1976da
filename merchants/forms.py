"""HTML forms: they only parse types; the bank's bounds are checked by the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from merchants.catalog import REGIONS, TRIGGERS, WEEKDAYS, exposed_segments
from merchants.models import AreaKind, DiscountKind, Gender, MerchantOffer, Store
from merchants.services import ImageUpload, OfferInput

TIME_INPUT = forms.TimeInput(attrs={"type": "time", "class": "form-control"}, format="%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


def _control(**attrs: Any) -> dict[str, Any]:
    return {"class": "form-control", **attrs}


class OfferForm(forms.Form):
    title = forms.CharField(required=False, widget=forms.TextInput(attrs=_control()))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs=_control(rows=3)))
    image = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(
            attrs=_control(accept="image/png,image/jpeg,image/gif,image/webp")
        ),
    )
    discount_kind = forms.ChoiceField(
        choices=DiscountKind.choices,
        initial=DiscountKind.PERCENT,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    discount_value = forms.DecimalField(
        required=False, max_digits=10, decimal_places=2, widget=forms.NumberInput(attrs=_control())
    )
    age_min = forms.IntegerField(required=False, widget=forms.NumberInput(attrs=_control()))
    age_max = forms.IntegerField(required=False, widget=forms.NumberInput(attrs=_control()))
    gender = forms.ChoiceField(
        choices=Gender.choices,
        initial=Gender.ANY,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    segments = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    trigger = forms.ChoiceField(widget=forms.RadioSelect(attrs={"class": "form-check-input"}))
    area_kind = forms.ChoiceField(
        choices=AreaKind.choices,
        initial=AreaKind.REGIONS,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    regions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    store = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    radius_m = forms.IntegerField(required=False, widget=forms.NumberInput(attrs=_control()))
    start_date = forms.DateField(required=False, widget=DATE_INPUT)
    end_date = forms.DateField(required=False, widget=DATE_INPUT)
    days_of_week = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        choices=list(enumerate(WEEKDAYS)),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    hour_from = forms.TimeField(required=False, widget=TIME_INPUT)
    hour_to = forms.TimeField(required=False, widget=TIME_INPUT)
    max_coupons = forms.IntegerField(required=False, widget=forms.NumberInput(attrs=_control()))
    max_redemptions = forms.IntegerField(required=False, widget=forms.NumberInput(attrs=_control()))
    daily_cap = forms.IntegerField(required=False, widget=forms.NumberInput(attrs=_control()))
    valid_days = forms.IntegerField(
        required=False, initial=7, widget=forms.NumberInput(attrs=_control())
    )

    def __init__(self, *args: Any, stores: list[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segments"].choices = list(exposed_segments().items())  # type: ignore[attr-defined]  # choice field
        self.fields["trigger"].choices = [(t.slug, t.label) for t in TRIGGERS.values()]  # type: ignore[attr-defined]  # choice field
        self.fields["trigger"].initial = next(iter(TRIGGERS))
        own = sorted({store.region for store in stores})
        # The merchant's own regions first; the others are shown so a refusal can explain itself.
        self.fields["regions"].choices = [(r, r) for r in own]  # type: ignore[attr-defined]  # choice field
        self.fields["store"].choices = [("", "—")] + [  # type: ignore[attr-defined]  # choice field
            (store.pk, f"{store.name} ({store.region})") for store in stores
        ]
        self.all_regions = REGIONS

    def to_input(self) -> OfferInput:
        """The parsed fields (call after ``is_valid``); unparseable ones become field errors."""
        data = self.cleaned_data
        upload = data.get("image")
        image = None
        if upload:
            image = ImageUpload(content=upload.read(), name=upload.name or "")
        return OfferInput(
            title=data.get("title") or "",
            description=data.get("description") or "",
            discount_kind=data.get("discount_kind") or DiscountKind.PERCENT,
            discount_value=data.get("discount_value"),
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            gender=data.get("gender") or Gender.ANY,
            segments=tuple(data.get("segments") or ()),
            area_kind=data.get("area_kind") or AreaKind.REGIONS,
            regions=tuple(data.get("regions") or ()),
            store_id=data.get("store"),
            radius_m=data.get("radius_m"),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            days_of_week=tuple(data.get("days_of_week") or ()),
            hour_from=data.get("hour_from"),
            hour_to=data.get("hour_to"),
            max_coupons=data.get("max_coupons"),
            max_redemptions=data.get("max_redemptions"),
            daily_cap=data.get("daily_cap"),
            trigger=data.get("trigger") or "",
            valid_days=7 if data.get("valid_days") is None else data["valid_days"],
            image=image,
            remove_image=data.get("image") is False,
        )

    def lenient_input(self) -> OfferInput:
        """For the live reach estimate: whatever parses, ignoring fields that do not."""
        self.is_valid()
        for name in list(self.errors):
            self.cleaned_data.pop(name, None)
        self.cleaned_data.pop("image", None)
        return self.to_input()


def offer_initial(offer: MerchantOffer) -> dict[str, Any]:
    return {
        "title": offer.title,
        "description": offer.description,
        "discount_kind": offer.discount_kind,
        "discount_value": offer.discount_value,
        "age_min": offer.age_min,
        "age_max": offer.age_max,
        "gender": offer.gender,
        "segments": offer.segments,
        "trigger": offer.trigger,
        "area_kind": offer.area_kind,
        "regions": offer.regions,
        "store": offer.store_id,
        "radius_m": offer.radius_m,
        "start_date": offer.start_date,
        "end_date": offer.end_date,
        "days_of_week": offer.days_of_week,
        "hour_from": offer.hour_from,
        "hour_to": offer.hour_to,
        "max_coupons": offer.max_coupons,
        "max_redemptions": offer.max_redemptions,
        "daily_cap": offer.daily_cap,
        "valid_days": offer.valid_days,
    }


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs=_control(rows=2)))


class MerchantForm(forms.Form):
    name = forms.CharField(label=_("Name"), widget=forms.TextInput(attrs=_control()))
    business_category = forms.CharField(
        label=_("Business category"), required=False, widget=forms.TextInput(attrs=_control())
    )


class StoreForm(forms.Form):
    name = forms.CharField(label=_("Store name"), widget=forms.TextInput(attrs=_control()))
    address = forms.CharField(
        label=_("Address"), required=False, widget=forms.TextInput(attrs=_control())
    )
    region = forms.ChoiceField(
        label=_("Region"),
        choices=[(r, r) for r in REGIONS],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    latitude = forms.DecimalField(
        label=_("Latitude"),
        max_digits=9,
        decimal_places=6,
        widget=forms.NumberInput(attrs=_control(step="0.000001")),
    )
    longitude = forms.DecimalField(
        label=_("Longitude"),
        max_digits=9,
        decimal_places=6,
        widget=forms.NumberInput(attrs=_control(step="0.000001")),
    )


class InviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), widget=forms.TextInput(attrs=_control()))
    email = forms.EmailField(
        label=_("Email"), required=False, widget=forms.EmailInput(attrs=_control())
    )
