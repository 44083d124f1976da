"""Number formats of the dashboards: rates as percentages, differences as percentage points."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def points(value: float | None, digits: int = 2) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:+.{int(digits)}f}"


@register.filter
def interval_points(value: list[float] | None) -> str:
    if not value:
        return "—"
    low, high = value
    return f"{low * 100:+.2f} … {high * 100:+.2f}"
