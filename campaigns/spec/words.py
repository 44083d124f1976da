"""Plain-language text for a rule spec: block phrases, the summary sentence, flow labels.

Tolerant by design: the designer asks for words while the draft is half written, so anything
malformed becomes "…" instead of an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

_DURATION = re.compile(r"^\s*([+-]?)(\d+)\s*([smhdw])\s*$")
#: "a day" / "7 days" (the summary) per unit; a whole phrase per number so that languages
#: without articles or plurals (Korean: "1일", "7일") read naturally.
_UNIT_WORDS = {
    "s": lambda n: ngettext("a second", "%(n)d seconds", n),
    "m": lambda n: ngettext("a minute", "%(n)d minutes", n),
    "h": lambda n: ngettext("an hour", "%(n)d hours", n),
    "d": lambda n: ngettext("a day", "%(n)d days", n),
    "w": lambda n: ngettext("a week", "%(n)d weeks", n),
}
#: "1 day" / "7 days" (what a duration field shows; the field reads it back).
_UNIT_INPUT = {
    "s": lambda n: ngettext("%(n)d second", "%(n)d seconds", n),
    "m": lambda n: ngettext("%(n)d minute", "%(n)d minutes", n),
    "h": lambda n: ngettext("%(n)d hour", "%(n)d hours", n),
    "d": lambda n: ngettext("%(n)d day", "%(n)d days", n),
    "w": lambda n: ngettext("%(n)d week", "%(n)d weeks", n),
}
_HUMAN_UNITS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "week": "w",
    "weeks": "w",
    "초": "s",
    "분": "m",
    "시간": "h",
    "일": "d",
    "주": "w",
}
_HUMAN = re.compile(r"^\s*([+-]?)\s*(\d{1,9})\s*([A-Za-z가-힣]+)\s*$")
UNKNOWN = "…"

#: Each operator as a whole phrase: word order differs between languages (Korean puts the
#: operator after the value), so the name and value are placeholders, never concatenated.
OP_WORDS = {
    "=": gettext_noop("%(name)s is %(value)s"),
    "!=": gettext_noop("%(name)s is not %(value)s"),
    "in": gettext_noop("%(name)s is %(value)s"),
    "not_in": gettext_noop("%(name)s is not %(value)s"),
    "<": gettext_noop("%(name)s is under %(value)s"),
    "<=": gettext_noop("%(name)s is at most %(value)s"),
    ">": gettext_noop("%(name)s is over %(value)s"),
    ">=": gettext_noop("%(name)s is at least %(value)s"),
    "between": gettext_noop("%(name)s is %(value)s"),
    "contains": gettext_noop("%(name)s contains %(value)s"),
    "exists": gettext_noop("%(name)s is known"),
    "not_exists": gettext_noop("%(name)s is not known"),
    "within_next": gettext_noop("%(name)s is within the next %(value)s"),
    "within_last": gettext_noop("%(name)s was within the last %(value)s"),
}
COUNT_WORDS = {
    ">=": gettext_noop("at least %(n)s times"),
    ">": gettext_noop("more than %(n)s times"),
    "=": gettext_noop("exactly %(n)s times"),
    "<": gettext_noop("fewer than %(n)s times"),
    "<=": gettext_noop("at most %(n)s times"),
    "!=": gettext_noop("not exactly %(n)s times"),
    "between": gettext_noop("%(a)s to %(b)s times"),
}
CHANNEL_WORDS = {
    "push": gettext_noop("push"),
    "sms": gettext_noop("SMS"),
    "email": gettext_noop("e-mail"),
    "webhook": gettext_noop("webhook"),
    "in_app": gettext_noop("in-app message"),
}


def channel_words(channel: object) -> str:
    words = CHANNEL_WORDS.get(str(channel))
    return _(words) if words else str(channel)


def humanize_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        return UNKNOWN
    return name.replace("_", " ").replace("-", " ")


def duration_words(text: object) -> str:
    """ "7m" -> "7 minutes", "1d" -> "a day", "-7d" -> "7 days before"."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        return str(text) if text not in (None, "") else UNKNOWN
    amount = int(match.group(2))
    return _UNIT_WORDS[match.group(3)](amount) % {"n": amount}


def duration_from_human(text: str) -> str:
    """ "7 minutes" -> "7m", "30 days" -> "30d"; anything else is returned unchanged.

    Unparsable text is kept as typed so the compiler's error names it on its block.
    """
    match = _HUMAN.match(text)
    if match is None:
        return text.strip()
    unit = _HUMAN_UNITS.get(match.group(3).lower())
    if unit is None:
        return text.strip()
    return f"{match.group(1)}{int(match.group(2))}{unit}"


def duration_for_input(text: object) -> str:
    """What a duration field shows: "7 minutes" for "7m" (the input accepts both)."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        return "" if text is None else str(text)
    amount = int(match.group(2))
    return match.group(1) + _UNIT_INPUT[match.group(3)](amount) % {"n": amount}


def value_words(value: object) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return or_list([value_words(item) for item in value])
    if isinstance(value, str):
        return humanize_name(value) if re.fullmatch(r"[a-z0-9_]+", value) else value
    return str(value)


def and_list(parts: Sequence[str]) -> str:
    parts = [part for part in parts if part]
    if len(parts) <= 1:
        return "".join(parts)
    if len(parts) == 2:
        return _("%(first)s and %(second)s") % {"first": parts[0], "second": parts[1]}
    return _("%(items)s, and %(last)s") % {"items": ", ".join(parts[:-1]), "last": parts[-1]}


def or_list(parts: Sequence[str]) -> str:
    parts = [part for part in parts if part]
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(items)s or %(last)s") % {"items": ", ".join(parts[:-1]), "last": parts[-1]}


def predicate_words(block: Mapping[str, object], name: str) -> str:
    op = block.get("op")
    value = block.get("value")
    if not isinstance(op, str) or op not in OP_WORDS:
        return f"{name} {UNKNOWN}"
    if op == "between":
        if isinstance(value, list) and len(value) == 2:
            shown = f"{value_words(value[0])}\u2013{value_words(value[1])}"
            return _(OP_WORDS[op]) % {"name": name, "value": shown}
        return _("%(name)s is between %(value)s") % {"name": name, "value": UNKNOWN}
    if op in ("exists", "not_exists"):
        return _(OP_WORDS[op]) % {"name": name}
    if op in ("within_next", "within_last"):
        shown = duration_words(value)
    elif op in ("in", "not_in"):
        shown = value_words(value if isinstance(value, list) else [value])
    else:
        shown = value_words(value)
    return _(OP_WORDS[op]) % {"name": name, "value": shown}


def where_words(where: object) -> str:
    """The filter on an event: "category is savings or deposit"."""
    if not isinstance(where, Mapping):
        return ""
    return condition_words(where)


def _event_phrase(block: Mapping[str, object]) -> str:
    event = humanize_name(block.get("event"))
    where = where_words(block.get("where"))
    return f"{event} ({where})" if where else event


def _same_words(same: object) -> str:
    if isinstance(same, list) and same:
        names = and_list([humanize_name(item) for item in same])
        return " " + _("on the same %(names)s") % {"names": names}
    return ""


def _count_words(block: Mapping[str, object], *, with_event: bool = True) -> str:
    """A count or sum condition; without the event when the summary already said it."""
    kind = "count" if "count" in block else "sum"
    inner = block.get(kind)
    if not isinstance(inner, Mapping):
        return UNKNOWN
    event = _event_phrase(inner)
    window = _("in %(period)s%(same)s") % {
        "period": duration_words(inner.get("within")),
        "same": _same_words(inner.get("same")),
    }
    op = block.get("op")
    value = block.get("value")
    if kind == "count":
        if op == "between" and isinstance(value, list) and len(value) == 2:
            times = _(COUNT_WORDS["between"]) % {"a": value[0], "b": value[1]}
        elif op in COUNT_WORDS and not isinstance(value, list):
            times = _(COUNT_WORDS[str(op)]) % {"n": value_words(value)}
            if op == ">=" and value == 1:
                times = _("at least once")
        else:
            times = UNKNOWN
        if not with_event:
            return _("%(times)s %(window)s") % {"times": times, "window": window}
        return _("%(event)s %(times)s %(window)s") % {
            "event": event,
            "times": times,
            "window": window,
        }
    total = _("total %(attribute)s of %(event)s %(window)s") % {
        "attribute": humanize_name(inner.get("attr")),
        "event": event,
        "window": window,
    }
    return predicate_words(block, total)


def condition_words(block: object) -> str:
    """One condition (or group) as a phrase."""
    if not isinstance(block, Mapping):
        return UNKNOWN
    if "all" in block:
        items = block.get("all")
        return and_list([condition_words(i) for i in items]) if isinstance(items, list) else UNKNOWN
    if "any" in block:
        items = block.get("any")
        if not isinstance(items, list):
            return UNKNOWN
        return _("either %(options)s") % {"options": or_list([condition_words(i) for i in items])}
    if "not" in block:
        inner = block.get("not")
        if (
            isinstance(inner, Mapping)
            and isinstance(inner.get("count"), Mapping)
            and inner.get("op") == ">="
            and inner.get("value") == 1
        ):
            count = inner["count"]
            return _("had no %(event)s event in the last %(period)s") % {
                "event": _event_phrase(count),  # type: ignore[arg-type]  # checked just above
                "period": duration_words(count.get("within")),  # type: ignore[union-attr]
            }
        return _("not (%(condition)s)") % {"condition": condition_words(inner)}
    if "attr" in block:
        return predicate_words(block, humanize_name(block.get("attr")))
    if "profile" in block:
        return predicate_words(block, humanize_name(block.get("profile")))
    if "count" in block or "sum" in block:
        return _count_words(block)
    if "sequence" in block:
        steps = block.get("sequence")
        if not isinstance(steps, list):
            return UNKNOWN
        chain = pgettext("sequence of events", " then ").join(
            _event_phrase(s) if isinstance(s, Mapping) else UNKNOWN for s in steps
        )
        return _("%(chain)s within %(period)s%(same)s") % {
            "chain": chain,
            "period": duration_words(block.get("within")),
            "same": _same_words(block.get("same")),
        }
    if "segment" in block:
        return _("is in the segment %(segment)s") % {"segment": humanize_name(block.get("segment"))}
    if "score" in block:
        name = _("score %(model)s") % {"model": humanize_name(block.get("score"))}
        return predicate_words(block, name)
    return UNKNOWN


def trigger_words(trigger: object) -> str:
    if not isinstance(trigger, Mapping):
        return _("When %(event)s") % {"event": UNKNOWN}
    if "date" in trigger:
        offset = trigger.get("offset", "0s")
        field = humanize_name(trigger.get("date"))
        if isinstance(offset, str) and offset.strip().startswith("-"):
            period = duration_words(offset.strip()[1:]).capitalize()
            return _("%(period)s before the customer's %(field)s") % {
                "period": period,
                "field": field,
            }
        if offset in ("0s", "0d", None):
            return _("On the customer's %(field)s") % {"field": field}
        period = duration_words(offset).capitalize()
        return _("%(period)s after the customer's %(field)s") % {"period": period, "field": field}
    event = humanize_name(trigger.get("event"))
    where = where_words(trigger.get("where"))
    if where:
        return _("When a customer has a %(event)s event where %(where)s") % {
            "event": event,
            "where": where,
        }
    return _("When a customer has a %(event)s event") % {"event": event}


#: Offer slug -> display name for the current request (``offer_names_use``).
OFFER_NAMES: ContextVar[Mapping[str, str]] = ContextVar("offer_names", default={})  # noqa: B039


def offer_names_use(names: Mapping[str, str]) -> None:
    """Name offers by their display names in the words of this request (or task)."""
    OFFER_NAMES.set(dict(names))


def offer_words(slug: object) -> str:
    name = OFFER_NAMES.get().get(slug) if isinstance(slug, str) else None
    if name:
        return f"“{name}”"
    words = humanize_name(slug)
    if words.endswith("offer"):
        return _("the %(name)s") % {"name": words}
    return _("the %(name)s offer") % {"name": words}


def action_words(action: object) -> str:
    if not isinstance(action, Mapping):
        return UNKNOWN
    if "offer" in action:
        text = _("send %(offer)s by %(channel)s") % {
            "offer": offer_words(action.get("offer")),
            "channel": channel_words(action.get("channel")),
        }
        if action.get("fallback"):
            text = _("%(action)s, else %(fallback)s") % {
                "action": text,
                "fallback": channel_words(action["fallback"]),
            }
        return text
    if "set_profile" in action:
        facts = action.get("set_profile")
        if isinstance(facts, Mapping):
            facts_words = and_list(
                [
                    _("%(name)s to %(value)s") % {"name": humanize_name(k), "value": value_words(v)}
                    for k, v in facts.items()
                ]
            )
            return _("set %(facts)s") % {"facts": facts_words}
        return _("set %(facts)s") % {"facts": UNKNOWN}
    if "emit" in action:
        emit = action.get("emit")
        event = emit.get("event") if isinstance(emit, Mapping) else None
        return _("emit a %(event)s event") % {"event": humanize_name(event)}
    if "notify_staff" in action:
        notify = action.get("notify_staff")
        team = notify.get("team") if isinstance(notify, Mapping) else None
        return _("notify the %(team)s team") % {"team": humanize_name(team)}
    return UNKNOWN


def actions_words(spec: Mapping[str, object]) -> str:
    variants = spec.get("variants")
    if isinstance(variants, list) and variants:
        parts = []
        for variant in variants:
            if not isinstance(variant, Mapping):
                continue
            share = variant.get("share")
            percent = f"{share * 100:g}%" if isinstance(share, int | float) else UNKNOWN
            actions = variant.get("actions")
            acts = and_list([action_words(a) for a in actions]) if isinstance(actions, list) else ""
            parts.append(f"{variant.get('name', UNKNOWN)} ({percent}): {acts or UNKNOWN}")
        return _("A/B test — %(variants)s") % {"variants": "; ".join(parts)}
    actions = spec.get("actions")
    if isinstance(actions, list) and actions:
        return and_list([action_words(action) for action in actions])
    return _("do %(what)s") % {"what": UNKNOWN}


def holdout_sentence(holdout: object) -> str:
    if isinstance(holdout, int | float) and holdout:
        return _("%(percent)s held out.") % {"percent": f"{holdout * 100:g}%"}
    return ""


def guard_sentences(guards: object, *, holdout: bool = True) -> list[str]:
    if not isinstance(guards, Mapping):
        return []
    sentences = []
    cap = guards.get("cap")
    if isinstance(cap, Mapping):
        maximum = cap.get("max")
        if maximum == 1:
            times = _("once")
        elif maximum == 2:
            times = _("twice")
        else:
            times = _("%(n)s times") % {"n": maximum}
        per = cap.get("per")
        period = (
            _("ever") if per == "ever" else _("in %(period)s") % {"period": duration_words(per)}
        )
        sentences.append(_("At most %(times)s %(period)s.") % {"times": times, "period": period})
    quiet = guards.get("quiet_hours")
    if isinstance(quiet, Mapping):
        if quiet.get("then", "defer") == "defer":
            sentence = _("Quiet from %(start)s to %(end)s (messages held until morning).")
        else:
            sentence = _("Quiet from %(start)s to %(end)s (messages dropped).")
        sentences.append(
            sentence % {"start": quiet.get("from", UNKNOWN), "end": quiet.get("to", UNKNOWN)}
        )
    budget = guards.get("budget")
    if isinstance(budget, Mapping):
        maximum = budget.get("max_offers")
        shown = f"{maximum:,}" if isinstance(maximum, int) else UNKNOWN
        sentences.append(_("At most %(n)s offers in all.") % {"n": shown})
    priority = guards.get("priority")
    if isinstance(priority, int) and priority:
        sentences.append(_("Priority %(n)s.") % {"n": priority})
    if holdout and holdout_sentence(guards.get("holdout")):
        sentences.append(holdout_sentence(guards.get("holdout")))
    return sentences


def unless_words(unless: object) -> str:
    if not isinstance(unless, Mapping):
        return ""
    return _("does not have a %(event)s event within %(period)s%(same)s") % {
        "event": _event_phrase(unless),
        "period": duration_words(unless.get("within")),
        "same": _same_words(unless.get("same")),
    }


def goal_sentence(goal: object) -> str:
    if not isinstance(goal, Mapping):
        return ""
    values = {"event": _event_phrase(goal), "period": duration_words(goal.get("within"))}
    if goal.get("revenue"):
        values["revenue"] = humanize_name(goal.get("revenue"))
        return _("Goal: %(event)s within %(period)s, revenue from %(revenue)s.") % values
    return _("Goal: %(event)s within %(period)s.") % values


def schedule_sentence(schedule: object) -> str:
    if not isinstance(schedule, Mapping):
        return ""
    start, end = schedule.get("start"), schedule.get("end")
    if start and end:
        return _("Runs %(start)s to %(end)s.") % {"start": start, "end": end}
    if start:
        return _("Runs from %(start)s.") % {"start": start}
    if end:
        return _("Runs until %(end)s.") % {"end": end}
    return ""


def top_conditions(spec: Mapping[str, object]) -> list[object]:
    conditions = spec.get("conditions")
    if isinstance(conditions, Mapping) and isinstance(conditions.get("all"), list):
        return list(conditions["all"])  # type: ignore[arg-type]  # checked just above
    return [conditions] if conditions else []


def _repeats_trigger(block: object, trigger: object) -> bool:
    if not isinstance(block, Mapping) or not isinstance(trigger, Mapping) or "count" not in block:
        return False
    inner = block.get("count")
    return (
        isinstance(inner, Mapping)
        and inner.get("event") == trigger.get("event")
        and inner.get("where") == trigger.get("where")
        and not inner.get("same")
    )


def summary(spec: object) -> str:
    """The whole campaign in one paragraph, as the designer shows it beside the blocks."""
    if not isinstance(spec, Mapping):
        return UNKNOWN
    trigger = spec.get("trigger")
    clauses = []
    for block in top_conditions(spec):
        if _repeats_trigger(block, trigger):
            # "views a savings product at least 3 times in a day" reads better than repeating
            # the event: the window includes the trigger itself.
            clauses.append(_count_words(block, with_event=False))  # type: ignore[arg-type]  # a mapping
        else:
            clauses.append(condition_words(block))
    unless = unless_words(spec.get("unless"))
    if unless:
        clauses.append(unless)
    head = trigger_words(trigger)
    has_where = isinstance(trigger, Mapping) and bool(where_words(trigger.get("where")))
    if len(clauses) == 1:
        values = {"trigger": head, "condition": clauses[0]}
        if has_where:
            head = _("%(trigger)s, and %(condition)s") % values
        else:
            head = _("%(trigger)s and %(condition)s") % values
    elif clauses:
        head = _("%(trigger)s, %(conditions)s, and %(last)s") % {
            "trigger": head,
            "conditions": ", ".join(clauses[:-1]),
            "last": clauses[-1],
        }
    delay = spec.get("delay")
    then = actions_words(spec)
    if delay:
        then = _("wait %(period)s, then %(then)s") % {"period": duration_words(delay), "then": then}
    sentences = [_("%(when)s: %(then)s.") % {"when": head, "then": then}]
    sentences += guard_sentences(spec.get("guards"))
    for extra in (goal_sentence(spec.get("goal")), schedule_sentence(spec.get("schedule"))):
        if extra:
            sentences.append(extra)
    return " ".join(sentences)


def block_label(path: str) -> str:
    """ "conditions.all[1].value" -> "Condition 2"; used by diffs, errors and the audit log."""
    from campaigns.spec.paths import PathError, parse_path

    try:
        steps = parse_path(path)
    except PathError:
        return path
    if not steps:
        return _("Campaign")
    head = steps[0]
    if head == "conditions":
        numbers = [str(step + 1) for step in steps[1:] if isinstance(step, int)]
        if numbers:
            return _("Condition %(n)s") % {"n": ".".join(numbers)}
        return _("Conditions")
    if head == "actions":
        if len(steps) > 1 and isinstance(steps[1], int):
            return _("Action %(n)s") % {"n": steps[1] + 1}
        return _("Actions")
    if head == "variants":
        if len(steps) > 1 and isinstance(steps[1], int):
            return _("Variant %(n)s") % {"n": steps[1] + 1}
        return _("Variants")
    if head == "guards":
        names = {
            "cap": gettext_noop("Frequency cap"),
            "quiet_hours": gettext_noop("Quiet hours"),
            "budget": gettext_noop("Budget"),
            "priority": gettext_noop("Priority"),
            "holdout": gettext_noop("Holdout"),
        }
        return _(names.get(str(steps[1]), "Limits")) if len(steps) > 1 else _("Limits")
    label = {
        "trigger": gettext_noop("Trigger"),
        "unless": gettext_noop("Unless"),
        "delay": gettext_noop("Delay"),
        "goal": gettext_noop("Goal"),
        "schedule": gettext_noop("Schedule"),
        "name": gettext_noop("Name"),
        "description": gettext_noop("Description"),
        "spec": gettext_noop("Spec version"),
    }.get(str(head))
    return _(label) if label else str(head)
