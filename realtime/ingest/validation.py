"""Compiled validators: the event-type registry turned into plain functions, once per change.

The ingest hot path validates every event against its type. A DRF serializer per event costs
tens of microseconds; here each attribute becomes a small closure chosen by its declared type,
and one event costs a dict lookup plus one call per declared attribute. ``validators_compile``
builds them from the registry rows; ``realtime.ingest.services`` caches the result per process
and rebuilds it when the registry's version (a Redis counter bumped on every change) moves.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from realtime.engine.model import PROFILE_UPDATED

MAX_STRING_LENGTH = 1000
MAX_ID_LENGTH = 128
MAX_ATTRIBUTES = 100
#: An attribute value may nest objects/lists this deep (``{"a": {"b": 1}}`` is depth 2).
MAX_ATTRIBUTE_DEPTH = 4
#: Event time may run ahead of our clock by this much (clock skew of senders), no more.
MAX_FUTURE_SECONDS = 300.0
#: Events older than this are refused: almost surely a unit mistake (days, not seconds).
MIN_TIMESTAMP = 946_684_800.0  # 2000-01-01T00:00:00Z
ENVELOPE_FIELDS = frozenset({"event_id", "type", "customer_id", "timestamp", "attributes"})

# A check returns None when the value is fine, else the error text (the field is known outside).
Check = Callable[[object], str | None]
# A validator returns None for valid attributes, else (attribute name, error).
Validator = Callable[[dict], tuple[str, str] | None]
_MISSING = object()
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    field: str
    error: str

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "error": self.error}


def _check_string(value: object) -> str | None:
    if type(value) is not str:
        return f"must be text, not {_json_type(value)}"
    if len(value) > MAX_STRING_LENGTH:
        return f"must be at most {MAX_STRING_LENGTH} characters"
    return None


def _check_number(value: object) -> str | None:
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]  # float here
        return None
    return f"must be a number, not {_json_type(value)}"


def _check_boolean(value: object) -> str | None:
    return None if type(value) is bool else f"must be true or false, not {_json_type(value)}"


def _check_datetime(value: object) -> str | None:
    kind = type(value)
    if kind is int or kind is float:
        return None  # epoch seconds
    if kind is str:
        try:
            datetime.fromisoformat(value)  # type: ignore[arg-type]  # str here
        except ValueError:
            return "must be an ISO 8601 date/time such as 2026-12-01T09:30:00+09:00"
        return None
    return f"must be an ISO 8601 date/time or epoch seconds, not {_json_type(value)}"


def _check_enum(values: Iterable[str]) -> Check:
    allowed = frozenset(values)
    shown = ", ".join(sorted(allowed))

    def check(value: object) -> str | None:
        if type(value) is str and value in allowed:
            return None
        return f"must be one of: {shown}"

    return check


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _depth(value: object, limit: int) -> int:
    """Nesting depth of a JSON value, stopping as soon as it passes ``limit``."""
    if type(value) is dict:
        children: Iterable[object] = value.values()  # type: ignore[union-attr]  # dict here
    elif type(value) is list:
        children = value  # type: ignore[assignment]  # list here
    else:
        return 0
    deepest = 0
    for child in children:
        if type(child) is dict or type(child) is list:
            deepest = max(deepest, _depth(child, limit - 1))
            if deepest >= limit:
                break
    return deepest + 1


def attribute_check(spec: Mapping[str, object]) -> Check:
    kind = spec.get("type")
    if kind == "string":
        return _check_string
    if kind == "number":
        return _check_number
    if kind == "boolean":
        return _check_boolean
    if kind == "datetime":
        return _check_datetime
    if kind == "enum":
        return _check_enum(str(value) for value in spec.get("values") or ())  # type: ignore[attr-defined]  # list
    raise ValueError(f"unknown attribute type {kind!r}")


def validator_compile(attributes: Iterable[Mapping[str, object]]) -> Validator:
    """One event type's declared attributes → a function checking an ``attributes`` dict.

    Attributes not declared are accepted (senders add fields before the registry knows them),
    as long as they are JSON no deeper than ``MAX_ATTRIBUTE_DEPTH``.
    """
    checks = tuple(
        (str(spec["name"]), attribute_check(spec), bool(spec.get("required")))
        for spec in attributes
    )

    def validate(values: dict) -> tuple[str, str] | None:
        if len(values) > MAX_ATTRIBUTES:
            return "", f"at most {MAX_ATTRIBUTES} attributes per event"
        for name, check, required in checks:
            value = values.get(name, _MISSING)
            if value is _MISSING or value is None:
                if required:
                    return name, "is required"
                continue
            error = check(value)
            if error is not None:
                return name, error
        for name, value in values.items():
            if type(value) in _SCALARS:
                continue
            if _depth(value, MAX_ATTRIBUTE_DEPTH + 1) > MAX_ATTRIBUTE_DEPTH:
                return name, f"nests deeper than {MAX_ATTRIBUTE_DEPTH} levels"
        return None

    return validate


def validators_compile(
    registry: Mapping[str, Iterable[Mapping[str, object]]],
) -> dict[str, Validator]:
    """``{type name: declared attributes}`` → ``{type name: validator}``."""
    return {name: validator_compile(attributes) for name, attributes in registry.items()}


def event_timestamp(value: object, *, now: float) -> tuple[float | None, str | None]:
    """A sender's ``timestamp`` (epoch seconds or ISO 8601 with offset) → (epoch seconds, error)."""
    kind = type(value)
    if kind is int or kind is float:
        ts = float(value)  # type: ignore[arg-type]  # number here
        if not math.isfinite(ts):
            return None, "must be a finite number of epoch seconds"
        if ts > 1e11:
            return None, "looks like milliseconds; send epoch seconds (or ISO 8601)"
    elif kind is str:
        try:
            moment = datetime.fromisoformat(value)  # type: ignore[arg-type]  # str here
        except ValueError:
            return None, "must be epoch seconds or ISO 8601 such as 2026-12-01T09:30:00+09:00"
        if moment.tzinfo is None:
            return None, "needs a time zone offset, e.g. 2026-12-01T09:30:00+09:00"
        ts = moment.timestamp()
    else:
        return None, f"must be epoch seconds or an ISO 8601 string, not {_json_type(value)}"
    if ts > now + MAX_FUTURE_SECONDS:
        return (
            None,
            f"is {ts - now:.0f} s in the future (at most {MAX_FUTURE_SECONDS:.0f} s allowed)",
        )
    if ts < MIN_TIMESTAMP:
        return None, "is before the year 2000"
    return ts, None


NUL = "\x00"


def _nul_path(value: object, path: str) -> str | None:
    """Where the first NUL character is in an attribute value (keys included), if anywhere."""
    if type(value) is str:
        return path if NUL in value else None
    if type(value) is dict:
        for key, item in value.items():
            if NUL in key:
                return path
            found = _nul_path(item, f"{path}.{key}")
            if found is not None:
                return found
    elif type(value) is list:
        for position, item in enumerate(value):
            found = _nul_path(item, f"{path}[{position}]")
            if found is not None:
                return found
    return None


def events_validate(
    raw_events: list,
    *,
    validators: Mapping[str, Validator],
    now: float | None = None,
    may_contain_nul: bool = True,
) -> tuple[list[tuple[int, dict]], list[Rejection]]:
    """Checks a parsed batch; returns ``(index, normalised event)`` pairs and the rejections.

    A normalised event is the stream's shape ``{"event_id","type","customer_id","ts",
    "attributes"}``; ``event_id`` is a fresh uuid4 hex when the sender gave none, ``ts`` the
    receive time when it gave no ``timestamp``.

    Text with a NUL character is refused: PostgreSQL can store it neither in the archive nor in
    a decision, so one such event would stop the archiver and its partition. JSON can only carry
    one as the escape ``\u0000``: callers holding the raw body pass ``may_contain_nul=False``
    when it has none, and the walk through every value is skipped.
    """
    now = time.time() if now is None else now
    accepted: list[tuple[int, dict]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        if type(raw) is not dict:
            rejected.append(Rejection(index, "", f"must be an object, not {_json_type(raw)}"))
            continue
        if not raw.keys() <= ENVELOPE_FIELDS:
            unknown = sorted(raw.keys() - ENVELOPE_FIELDS)[0]
            rejected.append(
                Rejection(
                    index,
                    unknown,
                    "unknown field; an event has event_id, type, customer_id, timestamp, "
                    "attributes",
                )
            )
            continue
        type_name = raw.get("type")
        if type(type_name) is not str:
            error = "is required" if type_name is None else "must be text"
            rejected.append(Rejection(index, "type", error))
            continue
        validator = validators.get(type_name)
        if validator is None:
            if type_name == PROFILE_UPDATED:
                error = "is reserved for profile changes; use PUT /api/v1/customers/<id>"
            else:
                error = f"unknown event type '{type_name[:64]}'; define it in the registry first"
            rejected.append(Rejection(index, "type", error))
            continue
        customer_id = raw.get("customer_id")
        if type(customer_id) is not str or not customer_id or len(customer_id) > MAX_ID_LENGTH:
            error = (
                "is required"
                if customer_id is None
                else f"must be non-empty text of at most {MAX_ID_LENGTH} characters"
            )
            rejected.append(Rejection(index, "customer_id", error))
            continue
        event_id = raw.get("event_id")
        if event_id is None:
            event_id = uuid.uuid4().hex
        elif type(event_id) is not str or not event_id or len(event_id) > MAX_ID_LENGTH:
            rejected.append(
                Rejection(
                    index,
                    "event_id",
                    f"must be non-empty text of at most {MAX_ID_LENGTH} characters",
                )
            )
            continue
        timestamp = raw.get("timestamp")
        if timestamp is None:
            ts = now
        else:
            ts, error = event_timestamp(timestamp, now=now)  # type: ignore[assignment]  # float when no error
            if error is not None:
                rejected.append(Rejection(index, "timestamp", error))
                continue
        attributes = raw.get("attributes")
        if attributes is None:
            attributes = {}
        elif type(attributes) is not dict:
            rejected.append(
                Rejection(index, "attributes", f"must be an object, not {_json_type(attributes)}")
            )
            continue
        problem = validator(attributes)
        if problem is not None:
            name, error = problem
            rejected.append(Rejection(index, f"attributes.{name}" if name else "attributes", error))
            continue
        if may_contain_nul:
            where = (
                ("customer_id" if NUL in customer_id else None)
                or ("event_id" if NUL in event_id else None)
                or _nul_path(attributes, "attributes")
            )
            if where is not None:
                rejected.append(
                    Rejection(index, where, "must not contain NUL characters (\\u0000)")
                )
                continue
        accepted.append(
            (
                index,
                {
                    "event_id": event_id,
                    "type": type_name,
                    "customer_id": customer_id,
                    "ts": ts,
                    "attributes": attributes,
                },
            )
        )
    return accepted, rejected
