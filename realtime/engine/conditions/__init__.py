"""Condition families, one module each; importing this package fills the registry."""

from . import attribute, groups, membership, sequence, window  # noqa: F401  - registration
from .attribute import AttrCondition, ProfileCondition
from .base import CONDITION_PARSERS, Condition, EvalContext, ParseContext, Readers
from .groups import AllCondition, AnyCondition, NotCondition, parse_where
from .membership import ScoreCondition, SegmentCondition
from .sequence import SequenceCondition
from .window import CountCondition, Stream, SumCondition

__all__ = [
    "CONDITION_PARSERS",
    "AllCondition",
    "AnyCondition",
    "AttrCondition",
    "Condition",
    "CountCondition",
    "EvalContext",
    "NotCondition",
    "ParseContext",
    "ProfileCondition",
    "Readers",
    "ScoreCondition",
    "SegmentCondition",
    "SequenceCondition",
    "Stream",
    "SumCondition",
    "parse_where",
]
