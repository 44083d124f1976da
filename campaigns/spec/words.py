"""Plain-language text for a rule spec: block phrases, the summary sentence, flow labels.

Tolerant by design: the designer asks for words while the draft is half written, so anything
malformed becomes "…" instead of an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextvars import ContextVar

_DURATION = re.compile(r"^\s*([+-]?)(\d+)\s*([smhdw])\s*$")
_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
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

OP_WORDS = {
    "=": "is",
    "!=": "is not",
    "in": "is",
    "not_in": "is not",
    "<": "is under",
    "<=": "is at most",
    ">": "is over",
    ">=": "is at least",
    "between": "is",
    "contains": "contains",
    "exists": "is known",
    "not_exists": "is not known",
    "within_next": "is within the next",
    "within_last": "was within the last",
}
COUNT_WORDS = {
    ">=": "at least {n} times",
    ">": "more than {n} times",
    "=": "exactly {n} times",
    "<": "fewer than {n} times",
    "<=": "at most {n} times",
    "!=": "not exactly {n} times",
    "between": "{a} to {b} times",
}
CHANNEL_WORDS = {
    "push": "push",
    "sms": "SMS",
    "email": "e-mail",
    "webhook": "webhook",
    "in_app": "in-app message",
}


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
    unit = _UNIT_WORDS[match.group(3)]
    words = f"a {unit}" if amount == 1 and unit != "hour" else f"{amount} {unit}"
    if amount == 1 and unit == "hour":
        words = "an hour"
    if amount != 1:
        words += "s"
    return words


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
    unit = _UNIT_WORDS[match.group(3)]
    return f"{match.group(1)}{amount} {unit}{'' if amount == 1 else 's'}"


def value_words(value: object) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
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
        return f"{parts[0]} and {parts[1]}"
    return ", ".join(parts[:-1]) + ", and " + parts[-1]


def or_list(parts: Sequence[str]) -> str:
    parts = [part for part in parts if part]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def predicate_words(block: Mapping[str, object], name: str) -> str:
    op = block.get("op")
    value = block.get("value")
    if not isinstance(op, str) or op not in OP_WORDS:
        return f"{name} {UNKNOWN}"
    if op == "between":
        if isinstance(value, list) and len(value) == 2:
            return f"{name} is {value_words(value[0])}\u2013{value_words(value[1])}"
        return f"{name} is between {UNKNOWN}"
    if op in ("exists", "not_exists"):
        return f"{name} {OP_WORDS[op]}"
    if op in ("within_next", "within_last"):
        return f"{name} {OP_WORDS[op]} {duration_words(value)}"
    if op in ("in", "not_in"):
        return f"{name} {OP_WORDS[op]} {value_words(value if isinstance(value, list) else [value])}"
    return f"{name} {OP_WORDS[op]} {value_words(value)}"


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
        return " on the same " + and_list([humanize_name(item) for item in same])
    return ""


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
        return "either " + or_list([condition_words(i) for i in items])
    if "not" in block:
        inner = block.get("not")
        if (
            isinstance(inner, Mapping)
            and isinstance(inner.get("count"), Mapping)
            and inner.get("op") == ">="
            and inner.get("value") == 1
        ):
            count = inner["count"]
            return (
                f"had no {_event_phrase(count)} event in the last "  # type: ignore[arg-type]
                f"{duration_words(count.get('within'))}"  # type: ignore[union-attr]
            )
        return f"not ({condition_words(inner)})"
    if "attr" in block:
        return predicate_words(block, humanize_name(block.get("attr")))
    if "profile" in block:
        return predicate_words(block, humanize_name(block.get("profile")))
    if "count" in block or "sum" in block:
        kind = "count" if "count" in block else "sum"
        inner = block.get(kind)
        if not isinstance(inner, Mapping):
            return UNKNOWN
        event = _event_phrase(inner)
        window = f"in {duration_words(inner.get('within'))}{_same_words(inner.get('same'))}"
        op = block.get("op")
        value = block.get("value")
        if kind == "count":
            if op == "between" and isinstance(value, list) and len(value) == 2:
                times = COUNT_WORDS["between"].format(a=value[0], b=value[1])
            elif op in COUNT_WORDS and not isinstance(value, list):
                times = COUNT_WORDS[str(op)].format(n=value_words(value))
                if op == ">=" and value == 1:
                    times = "at least once"
            else:
                times = UNKNOWN
            return f"{event} {times} {window}"
        total = f"total {humanize_name(inner.get('attr'))} of {event} {window}"
        return predicate_words(block, total)
    if "sequence" in block:
        steps = block.get("sequence")
        if not isinstance(steps, list):
            return UNKNOWN
        chain = " then ".join(
            _event_phrase(s) if isinstance(s, Mapping) else UNKNOWN for s in steps
        )
        return (
            f"{chain} within {duration_words(block.get('within'))}{_same_words(block.get('same'))}"
        )
    if "segment" in block:
        return f"is in the segment {humanize_name(block.get('segment'))}"
    if "score" in block:
        return predicate_words(block, f"score {humanize_name(block.get('score'))}")
    return UNKNOWN


def trigger_words(trigger: object) -> str:
    if not isinstance(trigger, Mapping):
        return f"When {UNKNOWN}"
    if "date" in trigger:
        offset = trigger.get("offset", "0s")
        field = humanize_name(trigger.get("date"))
        if isinstance(offset, str) and offset.strip().startswith("-"):
            return (
                f"{duration_words(offset.strip()[1:]).capitalize()} before the customer's {field}"
            )
        if offset in ("0s", "0d", None):
            return f"On the customer's {field}"
        return f"{duration_words(offset).capitalize()} after the customer's {field}"
    event = humanize_name(trigger.get("event"))
    where = where_words(trigger.get("where"))
    return f"When a customer has a {event} event" + (f" where {where}" if where else "")


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
    return f"the {words}" if words.endswith("offer") else f"the {words} offer"


def action_words(action: object) -> str:
    if not isinstance(action, Mapping):
        return UNKNOWN
    if "offer" in action:
        channel = CHANNEL_WORDS.get(str(action.get("channel")), str(action.get("channel")))
        text = f"send {offer_words(action.get('offer'))} by {channel}"
        if action.get("fallback"):
            text += f", else {CHANNEL_WORDS.get(str(action['fallback']), action['fallback'])}"
        return text
    if "set_profile" in action:
        facts = action.get("set_profile")
        if isinstance(facts, Mapping):
            return "set " + and_list(
                [f"{humanize_name(k)} to {value_words(v)}" for k, v in facts.items()]
            )
        return f"set {UNKNOWN}"
    if "emit" in action:
        emit = action.get("emit")
        event = emit.get("event") if isinstance(emit, Mapping) else None
        return f"emit a {humanize_name(event)} event"
    if "notify_staff" in action:
        notify = action.get("notify_staff")
        team = notify.get("team") if isinstance(notify, Mapping) else None
        return f"notify the {humanize_name(team)} team"
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
        return "A/B test — " + "; ".join(parts)
    actions = spec.get("actions")
    if isinstance(actions, list) and actions:
        return and_list([action_words(action) for action in actions])
    return f"do {UNKNOWN}"


def guard_sentences(guards: object) -> list[str]:
    if not isinstance(guards, Mapping):
        return []
    sentences = []
    cap = guards.get("cap")
    if isinstance(cap, Mapping):
        maximum = cap.get("max")
        times = "once" if maximum == 1 else ("twice" if maximum == 2 else f"{maximum} times")
        per = cap.get("per")
        period = "ever" if per == "ever" else f"in {duration_words(per)}"
        sentences.append(f"At most {times} {period}.")
    quiet = guards.get("quiet_hours")
    if isinstance(quiet, Mapping):
        then = "held until morning" if quiet.get("then", "defer") == "defer" else "dropped"
        sentences.append(
            f"Quiet from {quiet.get('from', UNKNOWN)} to {quiet.get('to', UNKNOWN)} "
            f"(messages {then})."
        )
    budget = guards.get("budget")
    if isinstance(budget, Mapping):
        maximum = budget.get("max_offers")
        shown = f"{maximum:,}" if isinstance(maximum, int) else UNKNOWN
        sentences.append(f"At most {shown} offers in all.")
    priority = guards.get("priority")
    if isinstance(priority, int) and priority:
        sentences.append(f"Priority {priority}.")
    holdout = guards.get("holdout")
    if isinstance(holdout, int | float) and holdout:
        sentences.append(f"{holdout * 100:g}% held out.")
    return sentences


def unless_words(unless: object) -> str:
    if not isinstance(unless, Mapping):
        return ""
    event = _event_phrase(unless)
    return (
        f"does not have a {event} event within {duration_words(unless.get('within'))}"
        f"{_same_words(unless.get('same'))}"
    )


def goal_sentence(goal: object) -> str:
    if not isinstance(goal, Mapping):
        return ""
    text = f"Goal: {_event_phrase(goal)} within {duration_words(goal.get('within'))}"
    if goal.get("revenue"):
        text += f", revenue from {humanize_name(goal.get('revenue'))}"
    return text + "."


def schedule_sentence(schedule: object) -> str:
    if not isinstance(schedule, Mapping):
        return ""
    start, end = schedule.get("start"), schedule.get("end")
    if start and end:
        return f"Runs {start} to {end}."
    if start:
        return f"Runs from {start}."
    if end:
        return f"Runs until {end}."
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
            phrase = condition_words(block)
            clauses.append(phrase[len(_event_phrase(block["count"])) + 1 :])  # type: ignore[index]  # checked
        else:
            clauses.append(condition_words(block))
    unless = unless_words(spec.get("unless"))
    if unless:
        clauses.append(unless)
    head = trigger_words(trigger)
    if len(clauses) == 1:
        head += (", and " if "where" in head else " and ") + clauses[0]
    elif clauses:
        head += ", " + ", ".join(clauses[:-1]) + ", and " + clauses[-1]
    delay = spec.get("delay")
    then = actions_words(spec)
    if delay:
        then = f"wait {duration_words(delay)}, then {then}"
    sentences = [f"{head}: {then}."]
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
        return "Campaign"
    head = steps[0]
    if head == "conditions":
        numbers = [str(step + 1) for step in steps[1:] if isinstance(step, int)]
        return "Condition " + ".".join(numbers) if numbers else "Conditions"
    if head == "actions":
        return (
            f"Action {steps[1] + 1}" if len(steps) > 1 and isinstance(steps[1], int) else "Actions"
        )
    if head == "variants":
        return (
            f"Variant {steps[1] + 1}"
            if len(steps) > 1 and isinstance(steps[1], int)
            else "Variants"
        )
    if head == "guards":
        names = {
            "cap": "Frequency cap",
            "quiet_hours": "Quiet hours",
            "budget": "Budget",
            "priority": "Priority",
            "holdout": "Holdout",
        }
        return names.get(str(steps[1]), "Limits") if len(steps) > 1 else "Limits"
    return {
        "trigger": "Trigger",
        "unless": "Unless",
        "delay": "Delay",
        "goal": "Goal",
        "schedule": "Schedule",
        "name": "Name",
        "description": "Description",
        "spec": "Spec version",
    }.get(str(head), str(head))
