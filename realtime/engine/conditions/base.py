"""The condition registry, the evaluation context and the spec parser shared by every family.

A condition type is a class keyed by a stable id (``type_id``) that knows how to parse its JSON
block, test itself fast (``test`` for the closure backend, ``source`` for generated code) and
explain itself slowly (``explain``) with the values it saw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

from ..codegen import CodeGen
from ..errors import SpecError
from ..model import ExplanationItem

if TYPE_CHECKING:
    from ..state import CustomerState

#: Hard limits that keep one rule's evaluation bounded (complexity cap).
MAX_CONDITIONS = 200
MAX_NESTING = 12
MAX_LIST_ITEMS = 1000
MAX_WINDOW_SECONDS = 400 * 86400.0
MAX_SEQUENCE_STEPS = 10

ATTRIBUTE_TYPES = ("string", "number", "integer", "boolean", "date", "datetime", "list", "object")


class Readers:
    """What conditions may read besides the event and the customer's keyed state.

    Implemented by the evaluator; kept as a tiny interface here so conditions do not import it.
    """

    def profile_view(self, customer_id: str) -> Mapping[str, object]:  # pragma: no cover
        raise NotImplementedError

    def is_member(self, customer_id: str, segment: str) -> bool:  # pragma: no cover
        raise NotImplementedError

    def score(self, customer_id: str, model: str) -> float | None:  # pragma: no cover
        raise NotImplementedError


class EvalContext:
    """One evaluation of rules against one (trigger) event for one customer.

    ``at`` is the moment conditions are judged at (the trigger's time, or the timer's due time
    for delayed rules); windows end at ``at``. ``anchor`` is the trigger's own time, where
    sequences end.
    """

    __slots__ = ("_profile", "anchor", "at", "attrs", "customer_id", "event", "readers", "state")

    def __init__(
        self,
        event_type: str,
        attrs: Mapping[str, object],
        customer_id: str,
        state: CustomerState | None,
        at: float,
        anchor: float,
        readers: Readers,
    ) -> None:
        self.event = event_type
        self.attrs = attrs
        self.customer_id = customer_id
        self.state = state
        self.at = at
        self.anchor = anchor
        self.readers = readers
        self._profile: Mapping[str, object] | None = None

    def profile(self) -> Mapping[str, object]:
        profile = self._profile
        if profile is None:
            profile = self._profile = self.readers.profile_view(self.customer_id)
        return profile

    def forget_profile(self) -> None:
        """Called when a rule set a fact: the next read must see it (forward chaining)."""
        self._profile = None

    def segment(self, name: str) -> bool:
        return self.readers.is_member(self.customer_id, name)

    def score(self, name: str) -> float | None:
        return self.readers.score(self.customer_id, name)


class Condition:
    """Base class of every condition type. Subclasses set ``type_id`` and register."""

    type_id: ClassVar[str] = ""
    #: Rough cost class for ordering the fast path: attr 0, profile 1, window 2, reader 3.
    cost: int = 0

    def __init__(self, path: str, label: str) -> None:
        self.path = path
        self.label = label

    def test(self, c: EvalContext) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def source(self, gen: CodeGen) -> str:
        """A boolean expression over the locals ``c`` (context), ``a`` (attrs), ``at``."""
        return f"{gen.const(self)}.test(c)"

    def explain(self, c: EvalContext) -> list[ExplanationItem]:  # pragma: no cover - abstract
        raise NotImplementedError

    def children(self) -> tuple[Condition, ...]:
        return ()

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def text(self) -> str:
        """ "Condition 2: profile 'age' is between 19 and 55" (static, so computed once)."""
        text = self.__dict__.get("_text")
        if text is None:
            text = self.__dict__["_text"] = f"{self.label}: {self.describe()}"
        return text

    def item(self, held: bool, values: Mapping[str, object]) -> ExplanationItem:
        text = self.text()
        if not held:
            seen = _seen(values)
            if seen:
                text += f" — it was {seen}"
        return ExplanationItem("condition", self.path, text, held, values)


def _seen(values: Mapping[str, object]) -> str:
    parts = []
    for key, value in values.items():
        shown = "missing" if value is None else (f"'{value}'" if isinstance(value, str) else value)
        parts.append(f"{shown}" if len(values) == 1 else f"{key} {shown}")
    return ", ".join(str(part) for part in parts)


#: parser(ctx, block, path, label, trigger_event, depth) -> condition or None (errors in ctx)
ConditionParser = Callable[
    ["ParseContext", Mapping[str, object], str, str, str | None, int], Condition | None
]

#: Stable id -> (the JSON key that introduces the block, its parser). Filled by each family.
CONDITION_PARSERS: dict[str, ConditionParser] = {}


def register(key: str) -> Callable[[ConditionParser], ConditionParser]:
    def decorate(parser: ConditionParser) -> ConditionParser:
        CONDITION_PARSERS[key] = parser
        return parser

    return decorate


def type_name(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "yes/no"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class ParseContext:
    """Collects errors while a spec is parsed; never raises on malformed input."""

    def __init__(
        self,
        event_types: Mapping[str, Mapping[str, str]] | None = None,
        profile_attributes: Mapping[str, str] | None = None,
    ) -> None:
        self.errors: list[SpecError] = []
        self.event_types = event_types
        self.profile_attributes = profile_attributes
        self.condition_count = 0
        self.too_complex = False
        # window streams this rule needs, by stable key (see window.Stream)
        self.streams: dict[str, object] = {}

    def error(self, path: str, message: str, code: str = "invalid") -> None:
        self.errors.append(SpecError(path, message, code))

    def count_condition(self, path: str) -> bool:
        self.condition_count += 1
        if self.condition_count > MAX_CONDITIONS:
            if not self.too_complex:
                self.too_complex = True
                self.error(
                    path,
                    f"This rule has more than {MAX_CONDITIONS} conditions; split it into "
                    "several campaigns or use a segment.",
                    "too_complex",
                )
            return False
        return True

    def check_keys(
        self,
        block: Mapping[str, object],
        path: str,
        label: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> bool:
        ok = True
        for key in block:
            if key not in allowed:
                expected = ", ".join(f"'{name}'" for name in allowed)
                self.error(
                    join(path, str(key)),
                    f"{label}: unknown field '{key}' (expected one of {expected}).",
                    "unknown_field",
                )
                ok = False
        for key in required:
            if key not in block:
                self.error(join(path, key), f"{label}: '{key}' is missing.", "required")
                ok = False
        return ok

    def known_event(self, event: object, path: str, label: str) -> bool:
        if not isinstance(event, str) or not event.strip():
            self.error(path, f"{label}: the event type must be a name, not {type_name(event)}.")
            return False
        if self.event_types is not None and event not in self.event_types:
            self.error(path, f"{label}: there is no event type '{event}'.", "unknown_event_type")
            return False
        return True

    def attribute_type(self, event: str | None, attr: str) -> str | None:
        """The registered type of an event attribute, or None when the registry is absent."""
        if self.event_types is None or event is None:
            return None
        attributes = self.event_types.get(event)
        if attributes is None:
            return None
        return attributes.get(attr, "")

    def parse_condition(
        self, block: object, path: str, label: str, trigger_event: str | None, depth: int = 0
    ) -> Condition | None:
        if depth > MAX_NESTING:
            self.error(
                path, f"{label}: groups are nested more than {MAX_NESTING} deep.", "too_complex"
            )
            return None
        if not isinstance(block, Mapping):
            self.error(path, f"{label}: expected a condition block, got {type_name(block)}.")
            return None
        if not self.count_condition(path):
            return None
        for key, parser in CONDITION_PARSERS.items():
            if key in block:
                return parser(self, block, path, label, trigger_event, depth)
        kinds = ", ".join(f"'{key}'" for key in CONDITION_PARSERS)
        self.error(path, f"{label}: not a condition (it should contain one of {kinds}).")
        return None


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key
