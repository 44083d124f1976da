"""The campaign engine core: rule spec -> compiled plan -> pure evaluator (no I/O, no clock).

Nothing here imports Django, Redis, Channels, Celery or a database driver; drivers add I/O.

Compile
    ``validate_spec(spec, *, event_types=None, profile_attributes=None) -> list[SpecError]``
    ``compile_spec(spec, ...) -> CompiledRule`` (raises :class:`SpecErrors`)
    ``build_plan(rules: Iterable[RuleSource], *, offers=None, settings=None, event_types=None)
    -> Plan`` indexes live campaigns by event type (raises :class:`SpecErrors`, loops between
    rules included; ``rule_cycles`` checks a draft against live rules at publish time).
    ``RULE_SPEC_SCHEMA`` / ``rule_spec_schema()``: the JSON Schema of spec version 1.

Evaluate
    ``Engine(plan, *, profiles=None, segments=None, scores=None, budget=None)``
      ``.process(events, *, now) -> BatchResult`` (decisions, conversions, profile updates,
      emitted events, dirty customers, timers scheduled); ``.fire_timers(*, now)``;
      ``.next_timer_due()``; ``.explain(event) -> list[RuleExplanation]`` (no state change);
      ``.snapshot(customer_id)`` / ``.snapshot_bytes`` / ``.restore(customer_id, data)`` /
      ``.evict(customer_id)``; ``.replace_plan(plan)``.
    Readers and budgets are protocols (``ProfileReader``, ``SegmentReader``, ``ScoreReader``,
    ``Budget``) with in-memory implementations.

Drive
    ``InMemoryDriver(plan, *, profiles=None, ...)`` ``.run(events, *, until=None)``,
    ``.advance(now)``: events in time order, timers in between.

Semantics worth knowing
    Windows end at the moment judged and include the trigger. Sequences end at the trigger.
    A missing or mistyped attribute makes a predicate false ("not met"), except
    ``not_exists``. Decision ids are uuid5(campaign, version, customer, trigger event, timer).
"""

from .compiler import CompiledRule, compile_spec, validate_spec
from .driver import InMemoryDriver
from .errors import SpecError, SpecErrors
from .evaluator import Engine
from .model import (
    PROFILE_UPDATED,
    Action,
    BatchResult,
    Conversion,
    Decision,
    EmitAction,
    Event,
    ExplanationItem,
    NotifyStaffAction,
    OfferAction,
    ProfileUpdate,
    RuleExplanation,
    SetProfileAction,
    TimerScheduled,
    decision_id_for,
)
from .plan import OfferLimit, Plan, PlanSettings, RuleSource, build_plan, rule_cycles
from .protocols import (
    Budget,
    InMemoryBudget,
    InMemoryProfiles,
    InMemoryScores,
    InMemorySegments,
    ProfileReader,
    ScoreReader,
    SegmentReader,
)
from .schema import RULE_SPEC_SCHEMA, rule_spec_schema
from .state import CustomerState, Timer

__all__ = [
    "PROFILE_UPDATED",
    "RULE_SPEC_SCHEMA",
    "Action",
    "BatchResult",
    "Budget",
    "CompiledRule",
    "Conversion",
    "CustomerState",
    "Decision",
    "EmitAction",
    "Engine",
    "Event",
    "ExplanationItem",
    "InMemoryBudget",
    "InMemoryDriver",
    "InMemoryProfiles",
    "InMemoryScores",
    "InMemorySegments",
    "NotifyStaffAction",
    "OfferAction",
    "OfferLimit",
    "Plan",
    "PlanSettings",
    "ProfileReader",
    "ProfileUpdate",
    "RuleExplanation",
    "RuleSource",
    "ScoreReader",
    "SegmentReader",
    "SetProfileAction",
    "SpecError",
    "SpecErrors",
    "Timer",
    "TimerScheduled",
    "build_plan",
    "compile_spec",
    "decision_id_for",
    "rule_cycles",
    "rule_spec_schema",
    "validate_spec",
]
