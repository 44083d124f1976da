"""Durations in specs are strings such as "2s", "7m", "12h", "30d"."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIGNED = re.compile(r"^\s*([+-]?)(.*)$", re.S)


def parse_duration(text: object) -> float | None:
    """Seconds for a duration string, or None when it is not one (never raises)."""
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text)
    if match is None:
        return None
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_signed_duration(text: object) -> float | None:
    """Like :func:`parse_duration` but accepts a leading sign ("-7d")."""
    if not isinstance(text, str):
        return None
    match = _SIGNED.match(text)
    if match is None:  # pragma: no cover - the pattern matches every string
        return None
    seconds = parse_duration(match.group(2))
    if seconds is None:
        return None
    return -seconds if match.group(1) == "-" else seconds


def format_duration(seconds: float) -> str:
    """The largest whole unit: 420 -> "7m", 86400 -> "1d"."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"
