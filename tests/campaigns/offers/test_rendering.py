"""Sandboxed rendering: hostile templates and customer traits come out inert."""

from __future__ import annotations

import json

import pytest

from campaigns.offers.rendering import (
    RenderContext,
    TemplateError,
    csv_safe,
    render,
    render_line,
    render_payload,
    template_validate,
)

HOSTILE = {
    "first_name": "{{ settings.SECRET_KEY }}<script>alert(1)</script>",
    "last_name": "Kim\r\nBcc: victim@example.com",
    "region": '=HYPERLINK("http://evil.example","x")',
}


def context() -> RenderContext:
    return RenderContext.build(customer=HOSTILE, event={"amount": 5000}, coupon_code="SAVE-1")


@pytest.mark.parametrize(
    "template",
    [
        "{{ settings.SECRET_KEY }}",
        "{{ customer.__class__ }}",
        "{{ customer.first_name|upper }}",
        "{{ request.user }}",
        "{{ coupon.pool.coupons }}",
        "{% load static %}{{ customer.id }}{{ event.Amount }}",
    ],
)
def test_unknown_placeholders_are_refused_with_their_name(template: str) -> None:
    with pytest.raises(TemplateError) as raised:
        template_validate(template, field="sms_body")
    assert raised.value.placeholder in template
    assert "sms_body" in str(raised.value)


def test_known_placeholders_are_accepted() -> None:
    template_validate(
        "{{customer.first_name}} {{ event.amount }} {{ coupon.code }} {{ coupon.expires_at }}"
        " {{ link }} {{ offer.name }}"
    )


def test_a_trait_that_looks_like_a_placeholder_stays_text() -> None:
    text = render("Hi {{ customer.first_name }}", context())
    assert text == "Hi {{ settings.SECRET_KEY }}<script>alert(1)</script>"
    assert "dev-only" not in text


def test_crlf_in_traits_cannot_add_lines_to_sms_or_headers() -> None:
    assert render("Dear {{ customer.last_name }}", context()) == "Dear Kim Bcc: victim@example.com"
    assert "\n" not in render_line("Subject {{ customer.last_name }}", context())


def test_html_escaping_for_email_and_console() -> None:
    html = render("<b>Hi</b> {{ customer.first_name }}\nbye", context(), escaping="html")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.endswith("<br>\nbye")


def test_webhook_payload_values_cannot_break_the_json() -> None:
    payload = render_payload(
        {"text": "{{ customer.first_name }}", "n": 3, "list": ["{{ event.amount }}"]}, context()
    )
    assert payload == {"text": HOSTILE["first_name"], "n": 3, "list": ["5000"]}
    assert json.loads(json.dumps(payload)) == payload


def test_csv_formula_is_neutralised_for_spreadsheets() -> None:
    region = render("{{ customer.region }}", context())
    assert csv_safe(region) == "'" + HOSTILE["region"]
    assert csv_safe("SAVE-1") == "SAVE-1"


def test_structured_values_render_empty_not_as_a_repr() -> None:
    rendered = RenderContext.build(customer={"first_name": {"nested": "x"}}, event={"a": [1]})
    assert render("[{{ customer.first_name }}][{{ event.a }}]", rendered) == "[][]"
