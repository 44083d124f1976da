"""Sandboxed message templates: ``{{ customer.first_name }}`` and friends, nothing else.

This is deliberately not Django's or Jinja's template language: a marketer or a merchant writes
these, so a placeholder can only name a plain value from a fixed whitelist (never an object, an
attribute chain, a filter or a tag). Values are substituted in one pass, so a customer trait that
itself looks like a placeholder stays text. Each channel escapes what it substitutes:

- ``text`` (SMS, push, email subject, headers): control characters and CR/LF become spaces;
- ``html`` (email HTML part, staff console): HTML-escaped, the template text too;
- webhook payloads are JSON: placeholders are substituted inside string values of the parsed
  template, and the result is JSON-encoded by the sender, so no value can break the structure.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_IDENTIFIER = r"[a-z_][a-z0-9_]{0,63}"
_EVENT_PLACEHOLDER = re.compile(rf"^event\.{_IDENTIFIER}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")

#: Placeholders a template may use. ``event.<attribute>`` is a family: any attribute name.
CUSTOMER_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "name",
    "email",
    "phone",
    "age",
    "region",
    "city",
    "segment",
)
ALLOWED_PLACEHOLDERS = frozenset(
    [f"customer.{name}" for name in CUSTOMER_FIELDS]
    + [
        "coupon.code",
        "coupon.expires_at",
        "coupon.value",
        "offer.name",
        "link",
        "event.type",
    ]
)

Escaping = Literal["text", "html"]
PlainValue = str | int | float | bool | None


class TemplateError(ValueError):
    """A template names a placeholder outside the whitelist."""

    def __init__(self, placeholder: str, field: str = "") -> None:
        self.placeholder = placeholder
        self.field = field
        where = f" in {field}" if field else ""
        super().__init__(f"Unknown placeholder {{{{ {placeholder} }}}}{where}.")


def is_allowed(placeholder: str) -> bool:
    return placeholder in ALLOWED_PLACEHOLDERS or bool(_EVENT_PLACEHOLDER.match(placeholder))


def placeholders_in(template: str) -> list[str]:
    return [match.group(1) for match in PLACEHOLDER.finditer(template)]


def template_validate(template: str, *, field: str = "") -> None:
    """Raises TemplateError naming the first placeholder that is not on the whitelist."""
    for name in placeholders_in(template):
        if not is_allowed(name):
            raise TemplateError(name, field)


def payload_validate(payload: object, *, field: str = "webhook_payload") -> None:
    for path, text in _strings_in(payload, field):
        template_validate(text, field=path)


def _strings_in(value: object, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        found: list[tuple[str, str]] = []
        for key, item in value.items():
            found += _strings_in(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        found = []
        for index, item in enumerate(value):
            found += _strings_in(item, f"{path}[{index}]")
        return found
    return []


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Plain values only: the renderer never sees a model instance or a settings object."""

    values: Mapping[str, str]

    @classmethod
    def build(
        cls,
        *,
        customer: Mapping[str, object],
        event: Mapping[str, object] | None = None,
        coupon_code: str = "",
        coupon_expires_at: str = "",
        coupon_value: str = "",
        offer_name: str = "",
        link: str = "",
    ) -> RenderContext:
        values: dict[str, str] = {}
        for name in CUSTOMER_FIELDS:
            values[f"customer.{name}"] = _plain(customer.get(name))
        if not values["customer.name"]:
            first, last = values["customer.first_name"], values["customer.last_name"]
            values["customer.name"] = " ".join(part for part in (first, last) if part)
        for name, value in (event or {}).items():
            if isinstance(name, str) and re.fullmatch(_IDENTIFIER, name):
                values[f"event.{name}"] = _plain(value)
        values.update(
            {
                "coupon.code": coupon_code,
                "coupon.expires_at": coupon_expires_at,
                "coupon.value": coupon_value,
                "offer.name": offer_name,
                "link": link,
            }
        )
        return cls(values=values)


def _plain(value: object) -> str:
    """Only scalars become text; anything structured renders empty rather than as a repr."""
    if value is None or isinstance(value, dict | list | tuple | set):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return str(value)
    return ""


def render(template: str, context: RenderContext, *, escaping: Escaping = "text") -> str:
    """One pass over the template; unknown placeholders (defence in depth) render empty."""
    if escaping == "html":
        pieces: list[str] = []
        position = 0
        for match in PLACEHOLDER.finditer(template):
            pieces.append(html.escape(template[position : match.start()]))
            pieces.append(html.escape(_lookup(match.group(1), context)))
            position = match.end()
        pieces.append(html.escape(template[position:]))
        return "".join(pieces).replace("\n", "<br>\n")

    def substitute(match: re.Match[str]) -> str:
        return _CONTROL.sub(" ", _lookup(match.group(1), context))

    return PLACEHOLDER.sub(substitute, template)


def render_line(template: str, context: RenderContext) -> str:
    """For one-line fields (push title, email subject, SMS): no line breaks at all."""
    return _CONTROL.sub(" ", render(template, context, escaping="text")).strip()


def render_payload(payload: object, context: RenderContext) -> object:
    """A JSON template with placeholders in its strings → the same structure, values filled."""
    if isinstance(payload, str):
        return render(payload, context, escaping="text")
    if isinstance(payload, Mapping):
        return {str(key): render_payload(item, context) for key, item in payload.items()}
    if isinstance(payload, list):
        return [render_payload(item, context) for item in payload]
    return payload


def _lookup(name: str, context: RenderContext) -> str:
    if not is_allowed(name):
        return ""
    return context.values.get(name, "")


def csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading quote stops that."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
