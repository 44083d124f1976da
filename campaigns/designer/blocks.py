"""The spec as the designer shows it: cards of fields, top to bottom, built from the JSON.

Every field knows its JSON path in the spec; an edit posts (path, value, kind) and the server
applies it (``edits.py``). Widgets follow the attribute's type: numbers, enums (a list of the
registered values), dates, durations typed as "7 minutes".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.spec.catalog import CHANNELS, Catalog
from campaigns.spec.paths import get_at, is_under, join_path
from campaigns.spec.validation import SpecProblem
from campaigns.spec.words import block_label, condition_words, duration_for_input

OP_LABELS = {
    "=": gettext_noop("is"),
    "!=": gettext_noop("is not"),
    "in": gettext_noop("is one of"),
    "not_in": gettext_noop("is none of"),
    "<": gettext_noop("is less than"),
    "<=": gettext_noop("is at most"),
    ">": gettext_noop("is more than"),
    ">=": gettext_noop("is at least"),
    "between": gettext_noop("is between"),
    "contains": gettext_noop("contains"),
    "exists": gettext_noop("is known"),
    "not_exists": gettext_noop("is unknown"),
    "within_next": gettext_noop("is within the next"),
    "within_last": gettext_noop("was within the last"),
}
OPS_BY_TYPE = {
    "number": ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "exists", "not_exists"),
    "integer": ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "exists", "not_exists"),
    "string": ("=", "!=", "in", "not_in", "contains", "exists", "not_exists"),
    "enum": ("=", "!=", "in", "not_in", "exists", "not_exists"),
    "boolean": ("=", "!=", "exists", "not_exists"),
    "date": ("within_next", "within_last", "<", "<=", ">", ">=", "between", "exists", "not_exists"),
    "datetime": ("within_next", "within_last", "<", "<=", ">", ">=", "between", "exists",
                 "not_exists"),
}  # fmt: skip
COUNT_OPS = (">=", ">", "=", "<=", "<", "between")
CONDITION_KINDS = (
    ("profile", gettext_noop("Profile attribute")),
    ("attr", gettext_noop("Trigger event attribute")),
    ("count", gettext_noop("Count of events in a window")),
    ("sum", gettext_noop("Sum of an attribute in a window")),
    ("sequence", gettext_noop("Sequence: A then B")),
    ("segment", gettext_noop("Segment membership")),
    ("score", gettext_noop("Model score")),
    ("all", gettext_noop("Group: all of")),
    ("any", gettext_noop("Group: any of")),
)
ACTION_KINDS = (
    ("offer", gettext_noop("Send an offer")),
    ("notify_staff", gettext_noop("Notify staff")),
    ("set_profile", gettext_noop("Set a profile fact")),
    ("emit", gettext_noop("Emit a derived event")),
)
DURATION_HINT = gettext_noop("e.g. 7 minutes, 1 day, 30d")
_SAFE = re.compile(r"[^A-Za-z0-9]+")


def dom_id(path: str) -> str:
    return "b-" + (_SAFE.sub("-", path).strip("-") or "root")


@dataclass
class Field:
    label: str
    path: str
    kind: str  # text | number | duration | list | multi | select | date | clock | percent | area
    value: object = ""
    choices: Sequence[tuple[str, str]] = ()
    rerender: bool = False
    locked: bool = False
    placeholder: str = ""
    width: int = 3  # bootstrap columns out of 12

    @property
    def shown(self) -> str:
        value = self.value
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return str(value)

    @property
    def hx_vals(self) -> str:
        return json.dumps(
            {"op": "set", "path": self.path, "kind": self.kind, "rerender": int(self.rerender)}
        )

    edit_url: str = ""
    enabled: bool = True

    @property
    def html(self) -> str:
        """The whole widget, rendered here: the designer's hot path (see ``bench/designer.py``)."""
        disabled = "" if self.enabled and not self.locked else " disabled"
        common = (
            f'name="value" data-path="{escape(self.path)}" hx-post="{escape(self.edit_url)}" '
            f'hx-vals="{escape(self.hx_vals)}"{disabled}'
        )
        if self.kind in ("select", "bool", "multi"):
            multiple = f' multiple size="{self.size}"' if self.kind == "multi" else ""
            widget = (
                f'<select class="form-select form-select-sm" {common}{multiple} '
                f'hx-trigger="change">{self.options_html}</select>'
            )
        else:
            numeric = ' inputmode="decimal"' if self.numeric else ""
            widget = (
                f'<input class="form-control form-control-sm" type="{self.input_type}" '
                f'value="{escape(self.shown)}" placeholder="{escape(self.placeholder)}" '
                f'autocomplete="off"{numeric} {common} '
                'hx-trigger="input changed delay:400ms, change">'
            )
        # Words go through _() outside the f-strings: makemessages cannot see inside them.
        locked = escape(_("locked"))
        lock = f' <span class="badge text-bg-light border">{locked}</span>' if self.locked else ""
        return mark_safe(
            f'<div class="col-md-{self.width} designer-field"><label class="form-label small '
            f'text-muted mb-0">{escape(self.label)}{lock}</label>{widget}</div>'
        )

    @property
    def options_html(self) -> str:
        """The <option>s, built here rather than in the template: a 30-block campaign has a few
        hundred of them and the template loop was most of the page's render time."""
        selected = self.selected
        choices = self.choices if self.kind == "multi" else self.choices_with_current
        return mark_safe(
            "".join(
                f'<option value="{escape(value)}"{" selected" if value in selected else ""}>'
                f"{escape(label)}</option>"
                for value, label in choices
            )
        )

    @property
    def size(self) -> int:
        return max(2, min(len(self.choices), 6))

    @property
    def input_type(self) -> str:
        return {"date": "date", "clock": "time"}.get(self.kind, "text")

    @property
    def numeric(self) -> bool:
        return self.kind in ("number", "percent", "list_number")

    @property
    def selected(self) -> set[str]:
        value = self.value
        if isinstance(value, list):
            return {str(item) for item in value}
        return {self.shown}

    @property
    def choices_with_current(self) -> list[tuple[str, str]]:
        """The choices, plus the current value when it is not among them (a deleted event
        type still shows, and the error under it says why)."""
        choices = list(self.choices)
        known = {value for value, _label in choices}
        if self.kind == "select" and self.shown and self.shown not in known:
            choices.insert(0, (self.shown, _("%(value)s (unknown)") % {"value": self.shown}))
        return choices


@dataclass
class Card:
    path: str
    title: str
    kind: str = ""
    fields: list[Field] = field(default_factory=list)
    children: list[Card] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    add_path: str = ""
    add_choices: Sequence[tuple[str, str]] = ()
    add_label: str = gettext_noop("Add")
    movable: bool = False
    removable: bool = False
    negatable: bool = False
    negated: bool = False
    note: str = ""
    toggles: list[tuple[str, str, bool]] = field(default_factory=list)  # (what, label, on)
    locked: bool = False
    control_path: str = ""  # what move / remove / negate act on (the "not" around a block)

    def __post_init__(self) -> None:
        self.control_path = self.control_path or self.path

    @property
    def dom_id(self) -> str:
        return dom_id(self.path)

    def html(self, edit_url: str, can_edit: bool) -> str:
        """The card and its children as HTML (rendered here, not by a template include per
        card: that was most of the open time of a 30-block campaign)."""
        return mark_safe(_card_html(self, edit_url, can_edit))

    def walk(self) -> list[Card]:
        cards = [self]
        for child in self.children:
            cards.extend(child.walk())
        return cards


class Builder:
    """Builds the cards of one spec; ``problems`` are attached to the deepest card they name."""

    def __init__(
        self,
        spec: Mapping[str, object],
        catalog: Catalog,
        problems: Sequence[SpecProblem] = (),
        locked_paths: Sequence[str] = (),
        edit_url: str = "",
        can_edit: bool = True,
    ) -> None:
        self.edit_url = edit_url
        self.can_edit = can_edit
        self.spec = spec
        self.catalog = catalog
        self.problems = list(problems)
        self.locked_paths = list(locked_paths)
        trigger = spec.get("trigger")
        self.trigger_event = trigger.get("event") if isinstance(trigger, Mapping) else None

    # --- helpers ------------------------------------------------------------------------------

    def locked(self, path: str) -> bool:
        return any(is_under(path, locked) for locked in self.locked_paths)

    def event_choices(self) -> list[tuple[str, str]]:
        return [("", _("— pick an event —"))] + [(n, n) for n in self.catalog.event_types]

    def profile_choices(self) -> list[tuple[str, str]]:
        return [(name, name) for name in self.catalog.profile_attributes]

    def attribute_choices(self, event: object, numbers_only: bool = False) -> list[tuple[str, str]]:
        return [
            (a.name, a.name)
            for a in self.catalog.attributes_of(event)
            if not numbers_only or a.type == "number"
        ]

    def field(self, label: str, path: str, kind: str, **kwargs: object) -> Field:
        value = kwargs.pop("value", get_at(self.spec, path))
        made = Field(label, path, kind, value, locked=self.locked(path), **kwargs)  # type: ignore[arg-type]
        made.edit_url = self.edit_url
        made.enabled = self.can_edit
        return made

    def duration(self, label: str, path: str, **kwargs: object) -> Field:
        return self.field(
            label, path, "duration", value=duration_for_input(get_at(self.spec, path)),
            placeholder=_(DURATION_HINT), **kwargs,
        )  # fmt: skip

    # --- predicates -----------------------------------------------------------------------------

    def predicate_fields(
        self, block: Mapping[str, object], path: str, subject: str, event: object
    ) -> list[Field]:
        """attr/profile name, operator and value widgets by the attribute's type."""
        name = block.get(subject)
        values: tuple[str, ...] = ()
        if subject == "profile":
            kind = self.catalog.profile_attributes.get(str(name), "")
            names = self.profile_choices()
            fields = [
                self.field(_("Profile field"), join_path(path, "profile"), "select",
                           choices=names, rerender=True, width=3)
            ]  # fmt: skip
        else:
            attribute = self.catalog.attribute(event, name)
            kind = attribute.type if attribute is not None else ""
            values = attribute.values if attribute is not None else ()
            names = self.attribute_choices(event)
            field_kind = "select" if names else "text"
            fields = [
                self.field(_("Attribute"), join_path(path, "attr"), field_kind, choices=names,
                           rerender=True, width=3)
            ]  # fmt: skip
        ops = OPS_BY_TYPE.get(kind, tuple(OP_LABELS))
        op = block.get("op")
        fields.append(
            self.field(_("Operator"), join_path(path, "op"), "select",
                       choices=[(o, _(OP_LABELS[o])) for o in ops], rerender=True, width=3)
        )  # fmt: skip
        fields.extend(self.value_fields(block, path, str(op), kind, values))
        return fields

    def value_fields(
        self,
        block: Mapping[str, object],
        path: str,
        op: str,
        kind: str,
        values: Sequence[str] = (),
    ) -> list[Field]:
        value_path = join_path(path, "value")
        if op in ("exists", "not_exists"):
            return []
        if op in ("within_next", "within_last"):
            return [self.duration(_("Period"), value_path, width=4)]
        is_date = kind in ("date", "datetime")
        scalar = "date" if is_date else ("number" if kind in ("number", "integer") else "text")
        if op == "between":
            return [
                self.field(
                    _("From"), join_path(value_path, 0), scalar, value=_item(block, 0), width=3
                ),
                self.field(
                    _("To"), join_path(value_path, 1), scalar, value=_item(block, 1), width=3
                ),
            ]
        if op in ("in", "not_in"):
            if values:
                return [
                    self.field(_("Values"), value_path, "multi", choices=[(v, v) for v in values],
                               width=6)
                ]  # fmt: skip
            list_kind = "list_number" if scalar == "number" else "list"
            return [
                self.field(_("Values"), value_path, list_kind, placeholder=_("a, b, c"), width=6)
            ]
        if values and op in ("=", "!="):
            return [
                self.field(_("Value"), value_path, "select",
                           choices=[("", "—")] + [(v, v) for v in values], width=4)
            ]  # fmt: skip
        if kind == "boolean":
            return [
                self.field(_("Value"), value_path, "bool",
                           choices=[("true", _("yes")), ("false", _("no"))], width=3)
            ]  # fmt: skip
        return [self.field(_("Value"), value_path, scalar, width=4)]

    def filter_card(self, where: object, path: str, event: object, title: str) -> Card:
        """An event filter: one predicate, or an all-group of predicates."""
        card = Card(path=path, title=title, kind="filters", add_path=path,
                    add_choices=(("filter", gettext_noop("+ filter")),),
                    add_label=gettext_noop("Filter"))  # fmt: skip
        items: list[tuple[str, object]] = []
        if isinstance(where, Mapping) and isinstance(where.get("all"), list):
            items = [(f"{path}.all[{i}]", item) for i, item in enumerate(where["all"])]  # type: ignore[arg-type]
        elif isinstance(where, Mapping):
            items = [(path, where)]
        for item_path, item in items:
            if isinstance(item, Mapping) and "attr" in item:
                card.children.append(
                    Card(path=item_path, title="", kind="attr", removable=True,
                         fields=self.predicate_fields(item, item_path, "attr", event))
                )  # fmt: skip
            else:
                card.children.append(
                    Card(path=item_path, title="", kind="json", removable=True,
                         note=condition_words(item))
                )  # fmt: skip
        return card

    # --- conditions ---------------------------------------------------------------------------

    def condition_card(self, block: object, path: str, index: int, nested: bool) -> Card:
        title = (
            block_label(path)
            if path.startswith("conditions")
            else _("Condition %(n)s") % {"n": index + 1}
        )
        card = Card(path=path, title=title, movable=True, removable=True, negatable=True)
        if isinstance(block, Mapping) and "not" in block and len(block) == 1:
            inner = self.condition_card(block.get("not"), join_path(path, "not"), index, nested)
            inner.control_path = path
            inner.negated = True
            inner.title = _("%(title)s: NOT") % {"title": title}
            return inner
        if not isinstance(block, Mapping):
            card.kind = "json"
            card.note = json.dumps(block)
            return card
        if "all" in block or "any" in block:
            group = "all" if "all" in block else "any"
            card.kind = "group"
            card.title = (_("%(title)s: all of") if group == "all" else _("%(title)s: any of")) % {
                "title": title
            }
            card.toggles = [("group_all", gettext_noop("all of (AND)"), group == "all"),
                            ("group_any", gettext_noop("any of (OR)"), group == "any")]  # fmt: skip
            items = block.get(group)
            if isinstance(items, list):
                for i, item in enumerate(items):
                    card.children.append(
                        self.condition_card(item, f"{path}.{group}[{i}]", i, nested=True)
                    )
            card.add_path = f"{path}.{group}"
            card.add_choices = CONDITION_KINDS
            card.add_label = gettext_noop("Add a condition to this group")
            return card
        if "profile" in block:
            card.kind = "profile"
            card.fields = self.predicate_fields(block, path, "profile", None)
        elif "attr" in block:
            card.kind = "attr"
            card.fields = self.predicate_fields(block, path, "attr", self.trigger_event)
        elif "count" in block or "sum" in block:
            kind = "count" if "count" in block else "sum"
            card.kind = kind
            inner_path = join_path(path, kind)
            inner = block.get(kind)
            event = inner.get("event") if isinstance(inner, Mapping) else None
            card.fields = [
                self.field(_("Event"), join_path(inner_path, "event"), "select",
                           choices=self.event_choices(), rerender=True, width=4),
            ]  # fmt: skip
            if kind == "sum":
                numbers = self.attribute_choices(event, numbers_only=True)
                card.fields.append(
                    self.field(_("Sum of"), join_path(inner_path, "attr"),
                               "select" if numbers else "text", choices=numbers, width=3)
                )  # fmt: skip
            card.fields += [
                self.duration(_("Within"), join_path(inner_path, "within"), width=3),
                self.field(_("Same"), join_path(inner_path, "same"), "list",
                           placeholder=_("e.g. screen"), width=2),
            ]  # fmt: skip
            op = block.get("op")
            card.fields.append(
                self.field(
                    _("Count is") if kind == "count" else _("Total is"),
                    join_path(path, "op"),
                    "select",
                    choices=[(o, _(OP_LABELS[o])) for o in COUNT_OPS],
                    rerender=True,
                    width=3,
                )
            )
            card.fields += self.value_fields(block, path, str(op), "number")
            where = inner.get("where") if isinstance(inner, Mapping) else None
            card.children.append(
                self.filter_card(
                    where, join_path(inner_path, "where"), event, _("Only events where")
                )
            )
        elif "sequence" in block:
            card.kind = "sequence"
            steps = block.get("sequence")
            if isinstance(steps, list):
                for i in range(len(steps)):
                    step_path = f"{path}.sequence[{i}]"
                    step_card = Card(
                        path=step_path,
                        title=_("Step %(n)s") % {"n": i + 1},
                        kind="step",
                        removable=len(steps) > 2,
                        movable=True,
                    )
                    step_card.fields = [
                        self.field(_("Event"), join_path(step_path, "event"), "select",
                                   choices=self.event_choices(), rerender=True, width=4)
                    ]  # fmt: skip
                    card.children.append(step_card)
            card.fields = [
                self.duration(_("All within"), join_path(path, "within"), width=4),
                self.field(
                    _("Same"),
                    join_path(path, "same"),
                    "list",
                    placeholder=_("e.g. cart_id"),
                    width=3,
                ),
            ]
            card.add_path = join_path(path, "sequence")
            card.add_choices = (("step", gettext_noop("+ step")),)
            card.add_label = gettext_noop("Step")
            card.note = _("The trigger event is the last step.")
        elif "segment" in block:
            card.kind = "segment"
            card.fields = [self.field(_("Segment"), join_path(path, "segment"), "text", width=6)]
        elif "score" in block:
            card.kind = "score"
            card.fields = [
                self.field(_("Model"), join_path(path, "score"), "text", width=4),
                self.field(
                    _("Operator"),
                    join_path(path, "op"),
                    "select",
                    choices=[(o, _(OP_LABELS[o])) for o in COUNT_OPS],
                    rerender=True,
                    width=3,
                ),
            ]
            card.fields += self.value_fields(block, path, str(block.get("op")), "number")
        else:
            card.kind = "json"
            card.note = json.dumps(block)
        card.note = card.note or condition_words(block)
        return card

    # --- actions ------------------------------------------------------------------------------

    def action_card(self, action: object, path: str, index: int) -> Card:
        card = Card(
            path=path, title=_("Action %(n)s") % {"n": index + 1}, movable=True, removable=True
        )
        if not isinstance(action, Mapping):
            card.kind = "json"
            card.note = json.dumps(action)
            return card
        channels = [(c, c) for c in CHANNELS]
        if "offer" in action:
            card.kind = "offer"
            offers = [(slug, name) for slug, name in self.catalog.offers.items()]
            card.fields = [
                self.field(_("Offer"), join_path(path, "offer"), "select",
                           choices=[("", _("— pick an offer —")), *offers], width=5),
                self.field(_("Channel"), join_path(path, "channel"), "select", choices=channels,
                           width=3),
                self.field(_("Else"), join_path(path, "fallback"), "select",
                           choices=[("", _("no fallback")), *channels], width=3),
            ]  # fmt: skip
        elif "notify_staff" in action:
            card.kind = "notify_staff"
            base = join_path(path, "notify_staff")
            card.fields = [
                self.field(_("Team"), join_path(base, "team"), "text", width=4),
                self.field(_("Message"), join_path(base, "message"), "text", width=8),
            ]
        elif "set_profile" in action:
            card.kind = "set_profile"
            facts = action.get("set_profile")
            base = join_path(path, "set_profile")
            if isinstance(facts, Mapping):
                for name in facts:
                    card.fields.append(
                        self.field(
                            _("Set %(name)s to") % {"name": name},
                            join_path(base, str(name)),
                            "text",
                            width=6,
                        )
                    )
            card.note = _("Facts are seen by other rules at once (forward chaining).")
        elif "emit" in action:
            card.kind = "emit"
            card.fields = [
                self.field(_("Event"), join_path(path, "emit.event"), "select",
                           choices=self.event_choices(), width=5)
            ]  # fmt: skip
        else:
            card.kind = "json"
            card.note = json.dumps(action)
        return card

    def actions_list(self, actions: object, path: str) -> list[Card]:
        if not isinstance(actions, list):
            return []
        return [self.action_card(a, f"{path}[{i}]", i) for i, a in enumerate(actions)]

    # --- the sections -------------------------------------------------------------------------

    def sections(self) -> list[Card]:
        spec = self.spec
        cards: list[Card] = []
        campaign = Card(path="name", title=_("Campaign"), kind="campaign")
        campaign.fields = [
            self.field(_("Name"), "name", "text", width=6),
            self.field(_("Starts"), "schedule.start", "date", width=3),
            self.field(_("Ends"), "schedule.end", "date", width=3),
        ]
        cards.append(campaign)

        trigger = spec.get("trigger")
        trigger_card = Card(path="trigger", title=_("Trigger"), kind="trigger")
        is_date = isinstance(trigger, Mapping) and "date" in trigger
        trigger_card.toggles = [
            ("trigger_event", gettext_noop("an event"), not is_date),
            ("trigger_date", gettext_noop("a date in the profile"), is_date),
        ]
        if is_date:
            dates = [(n, n) for n, t in self.catalog.profile_attributes.items()
                     if t in ("date", "datetime")]  # fmt: skip
            trigger_card.fields = [
                self.field(_("Profile date"), "trigger.date", "select", choices=dates, width=5),
                self.field(_("Offset"), "trigger.offset", "signed_duration",
                           value=duration_for_input(get_at(spec, "trigger.offset")),
                           placeholder=_("-7 days = 7 days before"), width=4),
            ]  # fmt: skip
        else:
            trigger_card.fields = [
                self.field(_("When a customer has the event"), "trigger.event", "select",
                           choices=self.event_choices(), rerender=True, width=6)
            ]  # fmt: skip
            where = trigger.get("where") if isinstance(trigger, Mapping) else None
            trigger_card.children.append(
                self.filter_card(where, "trigger.where", self.trigger_event, _("where"))
            )
        cards.append(trigger_card)

        conditions = spec.get("conditions")
        conditions_card = Card(
            path="conditions", title=_("Conditions"), kind="conditions",
            add_choices=CONDITION_KINDS, add_label=gettext_noop("Add a condition"),
        )  # fmt: skip
        group = "any" if isinstance(conditions, Mapping) and "any" in conditions else "all"
        conditions_card.toggles = [
            ("group_all", gettext_noop("all of (AND)"), group == "all"),
            ("group_any", gettext_noop("any of (OR)"), group == "any"),
        ]
        conditions_card.add_path = f"conditions.{group}"
        if isinstance(conditions, Mapping) and isinstance(conditions.get(group), list):
            for i, block in enumerate(conditions[group]):  # type: ignore[arg-type]  # checked
                conditions_card.children.append(
                    self.condition_card(block, f"conditions.{group}[{i}]", i, nested=False)
                )
        elif conditions is not None:
            conditions_card.children.append(self.condition_card(conditions, "conditions", 0, False))
        if not conditions_card.children:
            conditions_card.note = _("No conditions: every trigger event qualifies.")
        cards.append(conditions_card)

        wait = Card(path="unless", title=_("Wait / unless"), kind="wait")
        has_unless = isinstance(spec.get("unless"), Mapping)
        has_delay = "delay" in spec
        wait.toggles = [("unless", gettext_noop("unless another event arrives"), has_unless),
                        ("delay", gettext_noop("delay the action"), has_delay)]  # fmt: skip
        if has_unless:
            unless = spec["unless"]
            wait.fields = [
                self.field(
                    _("Unless the customer has"),
                    "unless.event",
                    "select",
                    choices=self.event_choices(),
                    rerender=True,
                    width=5,
                ),
                self.duration(_("within"), "unless.within", width=4),
                self.field(
                    _("Same"), "unless.same", "list", placeholder=_("e.g. cart_id"), width=3
                ),
            ]
            wait.children.append(
                self.filter_card(unless.get("where"), "unless.where",  # type: ignore[union-attr]
                                 unless.get("event"), _("where"))  # type: ignore[union-attr]
            )  # fmt: skip
        if has_delay:
            wait.fields.append(self.duration(_("Act after"), "delay", width=4))
        if not wait.fields:
            wait.note = _("Acts at once when the conditions hold.")
        cards.append(wait)

        offer = Card(path="actions", title=_("Offer and actions"), kind="offer")
        has_variants = "variants" in spec
        offer.toggles = [("ab", gettext_noop("A/B test"), has_variants)]
        if has_variants:
            offer.path = "variants"
            variants = spec.get("variants")
            if isinstance(variants, list):
                for i, variant in enumerate(variants):
                    vpath = f"variants[{i}]"
                    vcard = Card(
                        path=vpath,
                        title=_("Variant %(n)s") % {"n": i + 1},
                        kind="variant",
                        removable=len(variants) > 2,
                        add_path=f"{vpath}.actions",
                        add_choices=ACTION_KINDS,
                        add_label=gettext_noop("Add an action"),
                    )
                    vcard.fields = [
                        self.field(_("Name"), f"{vpath}.name", "text", width=4),
                        self.field(_("Share %"), f"{vpath}.share", "percent",
                                   value=_percent(get_at(spec, f"{vpath}.share")), width=3),
                    ]  # fmt: skip
                    actions = variant.get("actions") if isinstance(variant, Mapping) else None
                    vcard.children = self.actions_list(actions, f"{vpath}.actions")
                    offer.children.append(vcard)
            offer.add_path = "variants"
            offer.add_choices = (("variant", gettext_noop("+ variant")),)
            offer.add_label = gettext_noop("Variant")
        else:
            offer.children = self.actions_list(spec.get("actions"), "actions")
            offer.add_path = "actions"
            offer.add_choices = ACTION_KINDS
            offer.add_label = gettext_noop("Add an action")
        offer.fields = [
            self.field(_("Hold out %"), "guards.holdout", "percent",
                       value=_percent(get_at(spec, "guards.holdout")), width=3)
        ]  # fmt: skip
        cards.append(offer)

        limits = Card(path="guards", title=_("Limits"), kind="limits")
        guards = spec.get("guards") if isinstance(spec.get("guards"), Mapping) else {}
        limits.toggles = [
            ("cap", gettext_noop("frequency cap"), "cap" in guards),  # type: ignore[operator]
            ("quiet_hours", gettext_noop("quiet hours"), "quiet_hours" in guards),  # type: ignore[operator]
            ("budget", gettext_noop("budget"), "budget" in guards),  # type: ignore[operator]
        ]
        if "cap" in guards:  # type: ignore[operator]
            limits.fields += [
                self.field(_("At most (times)"), "guards.cap.max", "number", width=3),
                self.field(_("per"), "guards.cap.per", "duration",
                           value=duration_for_input(get_at(spec, "guards.cap.per")),
                           placeholder=_("30 days, or ever"), width=3),
            ]  # fmt: skip
        if "quiet_hours" in guards:  # type: ignore[operator]
            limits.fields += [
                self.field(_("Quiet from"), "guards.quiet_hours.from", "clock", width=2),
                self.field(_("to"), "guards.quiet_hours.to", "clock", width=2),
                self.field(_("then"), "guards.quiet_hours.then", "select",
                           choices=[("defer", _("hold until it ends")), ("drop", _("drop it"))],
                           width=3),
            ]  # fmt: skip
        if "budget" in guards:  # type: ignore[operator]
            limits.fields.append(
                self.field(
                    _("At most offers in all"), "guards.budget.max_offers", "number", width=3
                )
            )
        limits.fields.append(
            self.field(_("Priority (0 to 1000)"), "guards.priority", "number", width=3)
        )
        cards.append(limits)

        goal = Card(path="goal", title=_("Goal"), kind="goal")
        has_goal = isinstance(spec.get("goal"), Mapping)
        goal.toggles = [("goal", gettext_noop("track a conversion"), has_goal)]
        if has_goal:
            goal_event = get_at(spec, "goal.event")
            numbers = self.attribute_choices(goal_event, numbers_only=True)
            goal.fields = [
                self.field(_("Conversion event"), "goal.event", "select",
                           choices=self.event_choices(), rerender=True, width=5),
                self.duration(_("within"), "goal.within", width=3),
                self.field(_("Revenue from"), "goal.revenue", "select",
                           choices=[("", "—"), *numbers], width=4),
            ]  # fmt: skip
            goal.children.append(
                self.filter_card(get_at(spec, "goal.where"), "goal.where", goal_event, _("where"))
            )
        cards.append(goal)
        self._attach_problems(cards)
        return cards

    def _attach_problems(self, cards: list[Card]) -> None:
        everything = [card for section in cards for card in section.walk()]
        for card in everything:
            card.locked = self.locked(card.control_path)
        for problem in self.problems:
            owner = None
            for card in everything:
                if is_under(problem.path, card.path) and (
                    owner is None or len(card.path) > len(owner.path)
                ):
                    owner = card
            if owner is None:
                owner = cards[0]
            owner.errors.append(problem.message)


def _item(block: Mapping[str, object], index: int) -> object:
    value = block.get("value")
    if isinstance(value, list) and len(value) > index:
        return value[index]
    return None


def _percent(share: object) -> object:
    if isinstance(share, int | float) and not isinstance(share, bool):
        return round(share * 100, 4)
    return share


def cards_for(
    spec: Mapping[str, object],
    catalog: Catalog,
    problems: Sequence[SpecProblem] = (),
    locked_paths: Sequence[str] = (),
    *,
    edit_url: str = "",
    can_edit: bool = True,
) -> list[Card]:
    return Builder(spec, catalog, problems, locked_paths, edit_url, can_edit).sections()


def _button(edit_url: str, values: dict[str, str], label: str, css: str, extra: str = "") -> str:
    return (
        f'<button type="button" class="btn btn-sm {css} py-0" hx-post="{escape(edit_url)}" '
        f'hx-vals="{escape(json.dumps(values))}"{extra}>{escape(label)}</button>'
    )


def errors_html(card: Card) -> str:
    return "".join(
        f'<div class="text-danger small">\u26a0 {escape(message)}</div>' for message in card.errors
    )


def _card_html(card: Card, edit_url: str, can_edit: bool) -> str:
    classes = f"designer-card card mb-2 kind-{card.kind}"
    if card.errors:
        classes += " border-danger"
    if card.negated:
        classes += " negated"
    draggable = " data-movable" if card.movable and can_edit else ""
    control = card.control_path
    parts = [
        f'<div class="{classes}" id="{card.dom_id}" data-block="{escape(card.path)}" '
        f'data-control-path="{escape(control)}"{draggable}><div class="card-body p-2">'
        '<div class="d-flex align-items-center gap-2 mb-1">'
    ]
    # Words go through _() outside the f-strings: makemessages cannot see inside them.
    drag, negate = escape(_("Drag to reorder")), escape(_("Negate (NOT)"))
    up, down, remove = escape(_("Move up")), escape(_("Move down")), escape(_("Remove"))
    if card.movable and can_edit:
        parts.append(
            f'<span class="drag-handle text-muted" draggable="true" title="{drag}">⠿</span>'
        )
    parts.append(f'<strong class="small block-title">{escape(card.title)}</strong>')
    for what, label, on in card.toggles:
        disabled = "" if can_edit and not card.locked else " disabled"
        parts.append(
            _button(edit_url, {"op": "toggle", "what": what, "path": control}, _(label),
                    "btn-primary" if on else "btn-outline-secondary",
                    f' data-toggle="{escape(what)}"{disabled}')
        )  # fmt: skip
    parts.append('<span class="ms-auto d-flex gap-1">')
    if can_edit:
        if card.negatable:
            parts.append(
                _button(edit_url, {"op": "toggle", "what": "negate", "path": control},
                        _("un-NOT") if card.negated else "NOT", "btn-outline-secondary",
                        f' title="{negate}" data-action="negate"')
            )  # fmt: skip
        if card.movable:
            parts.append(
                _button(edit_url, {"op": "up", "path": control}, "↑", "btn-outline-secondary",
                        f' title="{up}" data-action="up"')
            )  # fmt: skip
            parts.append(
                _button(edit_url, {"op": "down", "path": control}, "↓", "btn-outline-secondary",
                        f' title="{down}" data-action="down"')
            )  # fmt: skip
        if card.removable:
            parts.append(
                _button(edit_url, {"op": "remove", "path": control}, "✕", "btn-outline-danger",
                        f' title="{remove}" data-action="remove"')
            )  # fmt: skip
    parts.append("</span></div>")
    if card.fields:
        parts.append('<div class="row g-2">' + "".join(f.html for f in card.fields) + "</div>")
    if card.note:
        parts.append(f'<div class="small text-muted mt-1 block-note">{escape(card.note)}</div>')
    parts.append(
        f'<div class="block-errors" id="err-{card.dom_id}" data-testid="errors-'
        f'{escape(card.path)}">{errors_html(card)}</div>'
    )
    if card.children:
        parts.append(
            f'<div class="designer-children mt-2 ps-2" data-list="{escape(card.add_path)}">'
        )
        parts.extend(_card_html(child, edit_url, can_edit) for child in card.children)
        parts.append("</div>")
    if card.add_choices and can_edit and not card.locked:
        parts.append(
            '<div class="dropdown mt-1"><button class="btn btn-sm btn-outline-primary py-0 '
            f'dropdown-toggle" type="button" data-bs-toggle="dropdown" '
            f'data-add="{escape(card.add_path)}">{escape(_(card.add_label))}</button>'
            '<ul class="dropdown-menu">'
        )
        for what, label in card.add_choices:
            values = {"op": "add", "what": what, "path": card.add_path}
            parts.append(
                '<li><button type="button" class="dropdown-item small" '
                f'data-add-kind="{escape(what)}" hx-post="{escape(edit_url)}" '
                f'hx-vals="{escape(json.dumps(values))}">{escape(_(label))}</button></li>'
            )
        parts.append("</ul></div>")
    parts.append("</div></div>")
    return "".join(parts)


def blocks_html(cards: Sequence[Card], edit_url: str, can_edit: bool) -> str:
    arrow = '<div class="text-center text-muted small flow-arrow">\u2193</div>'
    return mark_safe(arrow.join(_card_html(card, edit_url, can_edit) for card in cards))


def errors_oob_html(cards: Sequence[Card]) -> str:
    """Every card's error list as out-of-band swaps (an edit that did not change the blocks)."""
    return mark_safe(
        "".join(
            f'<div class="block-errors" id="err-{card.dom_id}" data-testid="errors-'
            f'{escape(card.path)}" hx-swap-oob="true">{errors_html(card)}</div>'
            for section in cards
            for card in section.walk()
        )
    )
