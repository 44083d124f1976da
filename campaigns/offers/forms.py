from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Offer

TEXTAREA = forms.Textarea(attrs={"rows": 3, "class": "form-control font-monospace"})


class OfferForm(forms.ModelForm):
    webhook_payload = forms.JSONField(
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control font-monospace"}),
        help_text=_("A JSON object; placeholders may appear inside its strings."),
    )

    class Meta:
        model = Offer
        fields = [
            "name",
            "slug",
            "description",
            "push_title",
            "push_body",
            "sms_body",
            "email_subject",
            "email_body",
            "webhook_payload",
            "link_url",
            "coupon_value",
            "coupon_currency",
            "is_percent",
            "per_customer_limit",
            "is_active",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "push_body": TEXTAREA,
            "sms_body": TEXTAREA,
            "email_body": forms.Textarea(attrs={"rows": 5, "class": "form-control font-monospace"}),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Django's loose signature
        self.fields["slug"].required = False
        for field in self.fields.values():
            widget = field.widget
            css = "form-check-input" if isinstance(widget, forms.CheckboxInput) else "form-control"
            widget.attrs.setdefault("class", css)


class PoolGenerateForm(forms.Form):
    pattern = forms.CharField(max_length=60, initial="SAVE-####-####")
    count = forms.IntegerField(min_value=1, max_value=100_000, initial=1000)
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    low_water_mark = forms.IntegerField(min_value=0, required=False)


class PoolUploadForm(forms.Form):
    codes_file = forms.FileField(
        required=False, help_text=_("A text or CSV file, one code a line.")
    )
    codes_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    low_water_mark = forms.IntegerField(min_value=0, required=False)

    def codes(self) -> list[str]:
        lines: list[str] = []
        upload = self.cleaned_data.get("codes_file")
        if upload:
            text = upload.read(4 * 1024 * 1024).decode("utf-8-sig", "replace")
            lines += [line.split(",")[0] for line in text.splitlines()]
        lines += (self.cleaned_data.get("codes_text") or "").splitlines()
        return lines


class PreviewForm(forms.Form):
    first_name = forms.CharField(required=False, initial="Minji")
    last_name = forms.CharField(required=False, initial="Kim")
    age = forms.CharField(required=False, initial="34")
    region = forms.CharField(required=False, initial="Gangnam-gu")
