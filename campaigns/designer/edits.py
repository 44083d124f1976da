"""One designer edit (a field typed, a block added, moved, removed, toggled) applied to a spec.

Values arrive as typed by a person; they are coerced by the field's kind. What cannot be
coerced is stored as typed, so the compiler's error names it on its block (the person sees
"'between' needs two numbers" under the field, instead of the input silently resetting).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence

from campaigns.spec.catalog import Catalog
from campaigns.spec.paths import (
    PathError,
    get_at,
    insert_at,
    move_at,
    parse_path,
    remove_at,
    set_at,
)
from campaigns.spec.words import duration_from_human

_INT = re.compile(r"^[+-]?\d{1,15}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: Optional keys that disappear when their field is emptied (rather than becoming null).
_OPTIONAL = {"fallback", "same", "revenue", "start", "end", "priority", "holdout", "description"}


class EditError(ValueError):
    """The edit does not fit the spec (stale page or hand-made request)."""


def number_or_text(text: str) -> object:
    text = text.strip()
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def coerce(kind: str, raw: str, many: Sequence[str]) -> object:
    text = raw.strip()
    if kind == "number":
        return number_or_text(text) if text else None
    if kind == "percent":
        value = number_or_text(text) if text else None
        if isinstance(value, int | float):
            return round(value / 100, 6)
        return value
    if kind in ("duration", "signed_duration"):
        if text.lower() == "ever":
            return "ever"
        return duration_from_human(text) if text else None
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "list_number":
        return [number_or_text(part) for part in text.split(",") if part.strip()]
    if kind == "multi":
        return [value for value in many if value]
    if kind == "bool":
        return {"true": True, "false": False}.get(text, text or None)
    return text if text else None


def _default_value(op: str, old: object) -> object:
    if op in ("exists", "not_exists"):
        return None
    if op == "between":
        return old if isinstance(old, list) and len(old) == 2 else [None, None]
    if op in ("in", "not_in"):
        if isinstance(old, list):
            return old
        return [old] if old not in (None, "") else []
    if op in ("within_next", "within_last"):
        return old if isinstance(old, str) and old[:1].isdigit() else "30d"
    if isinstance(old, list):
        return old[0] if old else None
    return old


def _set_field(spec: dict[str, object], path: str, value: object) -> dict[str, object]:
    steps = parse_path(path)
    last = steps[-1] if steps else ""
    if (value is None or value == []) and last in _OPTIONAL:
        spec = remove_at(spec, path)
        if last in ("start", "end") and get_at(spec, "schedule") == {}:
            spec = remove_at(spec, "schedule")
        return spec
    if last == "op" and isinstance(value, str):
        parent = path.rsplit(".", 1)[0]
        block = get_at(spec, parent)
        if isinstance(block, Mapping):
            new_value = _default_value(value, block.get("value"))
            spec = set_at(spec, path, value)
            if new_value is None and value in ("exists", "not_exists"):
                return remove_at(spec, f"{parent}.value")
            return set_at(spec, f"{parent}.value", new_value)
    if last in ("event",) and path.startswith("trigger"):
        spec = remove_at(spec, "trigger.where")  # the old filter named the old event's fields
    return set_at(spec, path, value)


def _new_condition(kind: str, spec: Mapping[str, object], catalog: Catalog) -> object:
    trigger_event = get_at(spec, "trigger.event")
    event = trigger_event if isinstance(trigger_event, str) else ""
    attributes = catalog.attributes_of(event)
    first_attr = attributes[0].name if attributes else ""
    numbers = [a.name for a in attributes if a.type == "number"]
    blocks: dict[str, object] = {
        "profile": {"profile": "age", "op": ">=", "value": None},
        "attr": {"attr": first_attr, "op": "=", "value": None},
        "count": {"count": {"event": event, "within": "1d"}, "op": ">=", "value": 1},
        "sum": {"sum": {"event": event, "attr": numbers[0] if numbers else "amount",
                        "within": "30d"}, "op": ">=", "value": 0},
        "sequence": {"sequence": [{"event": ""}, {"event": event}], "within": "10m"},
        "segment": {"segment": ""},
        "score": {"score": "", "op": ">=", "value": 0.5},
        "all": {"all": []},
        "any": {"any": []},
    }  # fmt: skip
    if kind not in blocks:
        raise EditError(f"'{kind}' is not a kind of condition.")
    return blocks[kind]


def _new_action(kind: str, catalog: Catalog) -> object:
    first_offer = next(iter(catalog.offers), "")
    actions: dict[str, object] = {
        "offer": {"offer": first_offer, "channel": "push"},
        "notify_staff": {"notify_staff": {"team": "call_centre", "message": ""}},
        "set_profile": {"set_profile": {"interest": ""}},
        "emit": {"emit": {"event": ""}},
    }
    if kind not in actions:
        raise EditError(f"'{kind}' is not a kind of action.")
    return actions[kind]


def _add(spec: dict[str, object], list_path: str, what: str, catalog: Catalog) -> dict[str, object]:
    if what == "filter":
        # list_path is the filter's own path (trigger.where, count.where, ...)
        event_path = list_path.rsplit(".", 1)[0] + ".event" if "." in list_path else "event"
        attributes = catalog.attributes_of(get_at(spec, event_path))
        predicate = {"attr": attributes[0].name if attributes else "", "op": "=", "value": None}
        where = get_at(spec, list_path)
        if where is None:
            return set_at(spec, list_path, predicate)
        if isinstance(where, Mapping) and isinstance(where.get("all"), list):
            return insert_at(spec, f"{list_path}.all", predicate)
        return set_at(spec, list_path, {"all": [where, predicate]})
    if what == "step":
        return insert_at(spec, list_path, {"event": ""})
    if what == "variant":
        variants = get_at(spec, "variants")
        count = len(variants) if isinstance(variants, list) else 0
        name = chr(ord("A") + count) if count < 26 else f"V{count + 1}"
        return insert_at(spec, "variants", {"name": name, "share": 0, "actions": []})
    if list_path.endswith("actions"):
        return insert_at(spec, list_path, _new_action(what, catalog))
    block = _new_condition(what, spec, catalog)
    if list_path in ("conditions.all", "conditions.any"):
        conditions = spec.get("conditions")
        if conditions is None:
            return set_at(spec, "conditions", {list_path.split(".")[1]: [block]})
        if not (isinstance(conditions, Mapping) and ("all" in conditions or "any" in conditions)):
            return set_at(spec, "conditions", {"all": [conditions, block]})
    return insert_at(spec, list_path, block)


def _remove(spec: dict[str, object], path: str) -> dict[str, object]:
    spec = remove_at(spec, path)
    parent = path.rsplit("[", 1)[0] if path.endswith("]") else ""
    # an emptied filter group or condition list goes away with its last item
    if parent.endswith(".all") and get_at(spec, parent) == []:
        owner = parent[: -len(".all")]
        if owner.endswith("where"):
            spec = remove_at(spec, owner)
    if parent in ("conditions.all", "conditions.any") and get_at(spec, parent) == []:
        spec = remove_at(spec, "conditions")
    return spec


def _toggle(spec: dict[str, object], what: str, path: str, catalog: Catalog) -> dict[str, object]:
    guards = "guards"
    if what == "unless":
        if "unless" in spec:
            return remove_at(spec, "unless")
        return set_at(spec, "unless", {"event": "", "within": "30m"})
    if what == "delay":
        return remove_at(spec, "delay") if "delay" in spec else set_at(spec, "delay", "30m")
    if what == "goal":
        if "goal" in spec:
            return remove_at(spec, "goal")
        return set_at(spec, "goal", {"event": get_at(spec, "trigger.event") or "", "within": "7d"})
    if what in ("cap", "quiet_hours", "budget"):
        path = f"{guards}.{what}"
        if get_at(spec, path) is not None:
            spec = remove_at(spec, path)
            return remove_at(spec, guards) if get_at(spec, guards) == {} else spec
        defaults: dict[str, object] = {
            "cap": {"max": 1, "per": "30d"},
            "quiet_hours": {"from": "21:00", "to": "08:00", "then": "defer"},
            "budget": {"max_offers": 1000},
        }
        return set_at(spec, path, defaults[what])
    if what == "ab":
        if "variants" in spec:
            variants = spec.get("variants")
            first = variants[0] if isinstance(variants, list) and variants else {}
            actions = first.get("actions", []) if isinstance(first, Mapping) else []
            spec = remove_at(spec, "variants")
            return set_at(spec, "actions", copy.deepcopy(actions))
        actions = spec.get("actions") if isinstance(spec.get("actions"), list) else []
        spec = remove_at(spec, "actions")
        return set_at(spec, "variants", [
            {"name": "A", "share": 0.5, "actions": copy.deepcopy(actions)},
            {"name": "B", "share": 0.5, "actions": copy.deepcopy(actions)},
        ])  # fmt: skip
    if what in ("trigger_event", "trigger_date"):
        is_date = isinstance(spec.get("trigger"), Mapping) and "date" in spec["trigger"]  # type: ignore[operator]
        if what == "trigger_date" and not is_date:
            dates = [n for n, t in catalog.profile_attributes.items() if t in ("date", "datetime")]
            return set_at(spec, "trigger", {"date": dates[0] if dates else "", "offset": "-7d"})
        if what == "trigger_event" and is_date:
            return set_at(spec, "trigger", {"event": ""})
        return spec
    if what in ("group_all", "group_any"):
        wanted, other = ("all", "any") if what == "group_all" else ("any", "all")
        block = get_at(spec, path)
        if isinstance(block, Mapping) and other in block:
            return set_at(spec, path, {wanted: block[other]})
        if block is None and path == "conditions":
            return spec
        return spec
    if what == "negate":
        block = get_at(spec, path)
        if isinstance(block, Mapping) and set(block) == {"not"}:
            return set_at(spec, path, block["not"])
        return set_at(spec, path, {"not": block})
    raise EditError(f"'{what}' cannot be switched on or off.")


def apply_edit(
    spec: Mapping[str, object],
    *,
    op: str,
    path: str,
    catalog: Catalog,
    value: str = "",
    values: Sequence[str] = (),
    kind: str = "text",
    what: str = "",
) -> dict[str, object]:
    """The spec after one edit; raises :class:`EditError` when the edit cannot apply."""
    current = copy.deepcopy(dict(spec))
    try:
        if op == "set":
            return _set_field(current, path, coerce(kind, value, values))
        if op == "add":
            return _add(current, path, what, catalog)
        if op == "remove":
            return _remove(current, path)
        if op in ("up", "down"):
            return move_at(current, path, -1 if op == "up" else 1)
        if op == "move":
            steps = parse_path(path)
            target = int(value)
            if not steps or not isinstance(steps[-1], int):
                raise EditError("Only items of a list can be moved.")
            return move_at(current, path, target - steps[-1])
        if op == "toggle":
            return _toggle(current, what, path, catalog)
    except PathError as error:
        raise EditError(str(error)) from error
    except ValueError as error:
        raise EditError(str(error)) from error
    raise EditError(f"'{op}' is not a designer operation.")
