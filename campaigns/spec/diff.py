"""The difference between two specs in sentences: "Condition 2: age 19 to 55 → age 19 to 60"."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.spec import words

_GUARDS = (
    ("holdout", gettext_noop("Holdout"), lambda g: words.guard_sentences({"holdout": g})),
    ("cap", gettext_noop("Frequency cap"), lambda g: words.guard_sentences({"cap": g})),
    (
        "quiet_hours",
        gettext_noop("Quiet hours"),
        lambda g: words.guard_sentences({"quiet_hours": g}),
    ),
    ("budget", gettext_noop("Budget"), lambda g: words.guard_sentences({"budget": g})),
    ("priority", gettext_noop("Priority"), lambda g: words.guard_sentences({"priority": g})),
)


def _same(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _compare(
    changes: list[str], label: str, old: object, new: object, phrase: Callable[[object], str]
) -> None:
    if _same(old, new):
        return

    def said(value: object) -> str:
        return phrase(value).rstrip(".")

    # ``label`` is a title ("Frequency cap"); the sentences with it mid-sentence use it lowercased
    # in English, which leaves Korean (no case) as it is.
    lower = label.lower()
    if old is None:
        changes.append(_("Added %(what)s: %(value)s.") % {"what": lower, "value": said(new)})
    elif new is None:
        changes.append(_("Removed %(what)s: %(value)s.") % {"what": lower, "value": said(old)})
    else:
        before, after = said(old), said(new)
        title = label[:1].upper() + label[1:]
        if before == after:
            changes.append(_("%(what)s changed in its details.") % {"what": title})
        else:
            changes.append(
                _("%(what)s: “%(before)s” → “%(after)s”.")
                % {"what": title, "before": before, "after": after}
            )


def _conditions(changes: list[str], old: list[object], new: list[object]) -> None:
    if _same(old, new):
        return
    old_keys = [json.dumps(item, sort_keys=True) for item in old]
    new_keys = [json.dumps(item, sort_keys=True) for item in new]
    if sorted(old_keys) == sorted(new_keys):
        changes.append(_("Conditions were reordered."))
        return
    removed = [i for i, key in enumerate(old_keys) if key not in new_keys]
    added = [i for i, key in enumerate(new_keys) if key not in old_keys]
    for old_index, new_index in zip(removed, added, strict=False):
        changes.append(
            _("Condition %(n)s: “%(before)s” → “%(after)s”.")
            % {
                "n": new_index + 1,
                "before": words.condition_words(old[old_index]),
                "after": words.condition_words(new[new_index]),
            }
        )
    for old_index in removed[len(added) :]:
        changes.append(
            _("Removed condition %(n)s: %(condition)s.")
            % {"n": old_index + 1, "condition": words.condition_words(old[old_index])}
        )
    for new_index in added[len(removed) :]:
        changes.append(
            _("Added condition %(n)s: %(condition)s.")
            % {"n": new_index + 1, "condition": words.condition_words(new[new_index])}
        )


def spec_diff(old: object, new: object) -> list[str]:
    """Sentences saying what changed from ``old`` to ``new``; empty when nothing did."""
    old_spec = old if isinstance(old, Mapping) else {}
    new_spec = new if isinstance(new, Mapping) else {}
    changes: list[str] = []
    _compare(changes, _("the name"), old_spec.get("name"), new_spec.get("name"), str)
    _compare(
        changes, _("the description"), old_spec.get("description"), new_spec.get("description"), str
    )
    _compare(
        changes,
        _("the schedule"),
        old_spec.get("schedule"),
        new_spec.get("schedule"),
        words.schedule_sentence,
    )
    _compare(
        changes, _("Trigger"), old_spec.get("trigger"), new_spec.get("trigger"), words.trigger_words
    )
    old_top = old_spec.get("conditions")
    new_top = new_spec.get("conditions")
    if (isinstance(old_top, Mapping) and "any" in old_top) or (
        isinstance(new_top, Mapping) and ("any" in new_top)
    ):
        _compare(changes, _("Conditions"), old_top, new_top, words.condition_words)
    else:
        _conditions(changes, words.top_conditions(old_spec), words.top_conditions(new_spec))
    _compare(
        changes, _("Unless"), old_spec.get("unless"), new_spec.get("unless"), words.unless_words
    )
    _compare(
        changes, _("Delay"), old_spec.get("delay"), new_spec.get("delay"), words.duration_words
    )
    old_actions = {k: old_spec.get(k) for k in ("actions", "variants") if k in old_spec}
    new_actions = {k: new_spec.get(k) for k in ("actions", "variants") if k in new_spec}
    _compare(
        changes,
        _("the offer"),
        old_actions or None,
        new_actions or None,
        lambda spec: words.actions_words(spec),
    )  # type: ignore[arg-type]  # a mapping
    old_guards = old_spec.get("guards") if isinstance(old_spec.get("guards"), Mapping) else {}
    new_guards = new_spec.get("guards") if isinstance(new_spec.get("guards"), Mapping) else {}
    for key, label, phrase in _GUARDS:
        _compare(
            changes,
            _(label),
            old_guards.get(key),
            new_guards.get(key),  # type: ignore[union-attr]
            lambda value, p=phrase: " ".join(p(value)) or words.value_words(value),
        )
    _compare(changes, _("Goal"), old_spec.get("goal"), new_spec.get("goal"), words.goal_sentence)
    known = {
        "spec",
        "name",
        "description",
        "schedule",
        "trigger",
        "conditions",
        "unless",
        "delay",
        "actions",
        "variants",
        "guards",
        "goal",
    }
    for key in sorted((set(old_spec) | set(new_spec)) - known):
        _compare(changes, f"'{key}'", old_spec.get(key), new_spec.get(key), words.value_words)
    return changes
