"""The JSON Schema of rule spec version 1, served by the API and published in ``docs/``.

The schema describes the shape; the compiler (``validate_spec``) is the authority and also
checks what a schema cannot say well (registered attribute types, loops between rules, shares
adding up to 1) with messages for marketers. ``python -m realtime.engine.schema PATH`` writes
the file in docs/ (a test keeps the two equal).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .compiler import DEFAULT_CHANNELS
from .predicates import ALL_OPS

_DURATION = {
    "type": "string",
    "pattern": r"^\s*\d{1,9}\s*[smhdw]\s*$",
    "description": "A duration: 90s, 7m, 12h, 30d, 2w.",
}
_SCALAR = {"type": ["string", "number", "boolean"]}
_NAME = {"type": "string", "minLength": 1}

RULE_SPEC_SCHEMA: dict[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://cdp.example/schemas/rule-spec-1.json",
    "title": "Campaign rule spec, version 1",
    "type": "object",
    "additionalProperties": False,
    "required": ["spec", "name", "trigger"],
    "oneOf": [{"required": ["actions"]}, {"required": ["variants"]}],
    "properties": {
        "spec": {"const": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string"},
        "schedule": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "start": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date"},
            },
        },
        "trigger": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["event"],
                    "properties": {"event": _NAME, "where": {"$ref": "#/$defs/where"}},
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["date"],
                    "properties": {
                        "date": _NAME,
                        "offset": {"type": "string", "pattern": r"^\s*[+-]?\d{1,9}\s*[smhdw]\s*$"},
                    },
                },
            ]
        },
        "conditions": {"$ref": "#/$defs/condition"},
        "unless": {
            "type": "object",
            "additionalProperties": False,
            "required": ["event", "within"],
            "properties": {
                "event": _NAME,
                "where": {"$ref": "#/$defs/where"},
                "within": {"$ref": "#/$defs/duration"},
                "same": {"$ref": "#/$defs/same"},
            },
        },
        "delay": {"$ref": "#/$defs/duration"},
        "actions": {"$ref": "#/$defs/actions"},
        "variants": {
            "type": "array",
            "minItems": 2,
            "maxItems": 10,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "share", "actions"],
                "properties": {
                    "name": _NAME,
                    "share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                    "actions": {"$ref": "#/$defs/actions"},
                },
            },
        },
        "guards": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "holdout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                "cap": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["max", "per"],
                    "properties": {
                        "max": {"type": "integer", "minimum": 1},
                        "per": {"anyOf": [{"$ref": "#/$defs/duration"}, {"const": "ever"}]},
                    },
                },
                "quiet_hours": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["from", "to"],
                    "properties": {
                        "from": {"$ref": "#/$defs/clock"},
                        "to": {"$ref": "#/$defs/clock"},
                        "then": {"enum": ["defer", "drop"], "default": "defer"},
                    },
                },
                "budget": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["max_offers"],
                    "properties": {"max_offers": {"type": "integer", "minimum": 1}},
                },
                "priority": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0},
            },
        },
        "goal": {
            "type": "object",
            "additionalProperties": False,
            "required": ["event", "within"],
            "properties": {
                "event": _NAME,
                "where": {"$ref": "#/$defs/where"},
                "within": {"$ref": "#/$defs/duration"},
                "revenue": _NAME,
            },
        },
    },
    "$defs": {
        "duration": _DURATION,
        "clock": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
        "same": {"type": "array", "minItems": 1, "items": _NAME},
        "op": {"enum": list(ALL_OPS)},
        "predicate_value": {
            "description": "Depends on op: a value; a list for in/not_in; [low, high] for "
            "between; a duration for within_next/within_last; absent for exists/not_exists.",
            "anyOf": [
                _SCALAR,
                {"type": "array", "minItems": 1, "maxItems": 1000, "items": _SCALAR},
                {"type": "null"},
            ],
        },
        "attr_predicate": {
            "type": "object",
            "additionalProperties": False,
            "required": ["attr", "op"],
            "properties": {
                "attr": _NAME,
                "op": {"$ref": "#/$defs/op"},
                "value": {"$ref": "#/$defs/predicate_value"},
            },
        },
        "where": {
            "description": "Attribute predicates on one event, combined with all/any/not.",
            "anyOf": [
                {"$ref": "#/$defs/attr_predicate"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["all"],
                    "properties": {
                        "all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/where"}}
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["any"],
                    "properties": {
                        "any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/where"}}
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["not"],
                    "properties": {"not": {"$ref": "#/$defs/where"}},
                },
            ],
        },
        "window": {
            "type": "object",
            "additionalProperties": False,
            "required": ["event", "within"],
            "properties": {
                "event": _NAME,
                "where": {"$ref": "#/$defs/where"},
                "within": {"$ref": "#/$defs/duration"},
                "same": {"$ref": "#/$defs/same"},
                "attr": _NAME,
            },
        },
        "condition": {
            "anyOf": [
                {"$ref": "#/$defs/attr_predicate"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["profile", "op"],
                    "properties": {
                        "profile": _NAME,
                        "op": {"$ref": "#/$defs/op"},
                        "value": {"$ref": "#/$defs/predicate_value"},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["count", "op", "value"],
                    "properties": {
                        "count": {"$ref": "#/$defs/window"},
                        "op": {"$ref": "#/$defs/op"},
                        "value": {"$ref": "#/$defs/predicate_value"},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sum", "op", "value"],
                    "properties": {
                        "sum": {"allOf": [{"$ref": "#/$defs/window"}, {"required": ["attr"]}]},
                        "op": {"$ref": "#/$defs/op"},
                        "value": {"$ref": "#/$defs/predicate_value"},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["sequence", "within"],
                    "properties": {
                        "sequence": {
                            "type": "array",
                            "minItems": 2,
                            "maxItems": 10,
                            "items": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["event"],
                                "properties": {"event": _NAME, "where": {"$ref": "#/$defs/where"}},
                            },
                        },
                        "within": {"$ref": "#/$defs/duration"},
                        "same": {"$ref": "#/$defs/same"},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["segment"],
                    "properties": {"segment": _NAME},
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["score", "op", "value"],
                    "properties": {
                        "score": _NAME,
                        "op": {"$ref": "#/$defs/op"},
                        "value": {"$ref": "#/$defs/predicate_value"},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["all"],
                    "properties": {
                        "all": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": "#/$defs/condition"},
                        }
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["any"],
                    "properties": {
                        "any": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": "#/$defs/condition"},
                        }
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["not"],
                    "properties": {"not": {"$ref": "#/$defs/condition"}},
                },
            ]
        },
        "channel": {"enum": list(DEFAULT_CHANNELS)},
        "actions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["offer", "channel"],
                        "properties": {
                            "offer": {
                                "type": "string",
                                "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
                            },
                            "channel": {"$ref": "#/$defs/channel"},
                            "fallback": {"$ref": "#/$defs/channel"},
                        },
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["set_profile"],
                        "properties": {
                            "set_profile": {
                                "type": "object",
                                "minProperties": 1,
                                "maxProperties": 50,
                                "additionalProperties": {
                                    "type": ["string", "number", "boolean", "null"]
                                },
                            }
                        },
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["emit"],
                        "properties": {
                            "emit": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["event"],
                                "properties": {
                                    "event": _NAME,
                                    "attributes": {
                                        "type": "object",
                                        "additionalProperties": {
                                            "type": ["string", "number", "boolean", "null"]
                                        },
                                    },
                                },
                            }
                        },
                    },
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["notify_staff"],
                        "properties": {
                            "notify_staff": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["team", "message"],
                                "properties": {
                                    "team": _NAME,
                                    "message": {
                                        "type": "string",
                                        "minLength": 1,
                                        "description": "{attribute} and {customer_id} are "
                                        "filled from the trigger event.",
                                    },
                                },
                            }
                        },
                    },
                ]
            },
        },
    },
}


def rule_spec_schema() -> dict[str, object]:
    """A fresh copy of the schema (callers may annotate it)."""
    return json.loads(json.dumps(RULE_SPEC_SCHEMA))


def schema_text() -> str:
    return json.dumps(RULE_SPEC_SCHEMA, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rule-spec.schema.json")
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")
