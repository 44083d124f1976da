"""The campaign drawn as a flow diagram: server-rendered SVG, no JavaScript, works offline."""

from __future__ import annotations

import textwrap
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape

from django.utils.translation import gettext as _

from campaigns.spec import words
from campaigns.spec.paths import is_under

WIDTH = 300
LINE = 15
PAD = 10
GAP = 26
WRAP = 40
COLOURS = {
    "trigger": ("#e7f1ff", "#0d6efd"),
    "condition": ("#f8f9fa", "#6c757d"),
    "wait": ("#fff8e1", "#d39e00"),
    "offer": ("#e8f5e9", "#198754"),
    "limits": ("#f3e8ff", "#6f42c1"),
    "goal": ("#e0f7fa", "#0aa2c0"),
}


@dataclass(frozen=True)
class Node:
    kind: str
    title: str
    lines: tuple[str, ...]
    path: str


def flow_nodes(spec: Mapping[str, object]) -> list[Node]:
    nodes = [Node("trigger", _("Trigger"), (words.trigger_words(spec.get("trigger")),), "trigger")]
    conditions = spec.get("conditions")
    if isinstance(conditions, Mapping) and "any" in conditions:
        nodes.append(
            Node("condition", _("Any of"), (words.condition_words(conditions),), "conditions")
        )
    elif isinstance(conditions, Mapping) and isinstance(conditions.get("all"), list):
        for index, block in enumerate(conditions["all"]):  # type: ignore[arg-type]  # checked
            text = (words.condition_words(block),)
            nodes.append(
                Node(
                    "condition",
                    _("Condition %(n)s") % {"n": index + 1},
                    text,
                    f"conditions.all[{index}]",
                )
            )
    elif conditions:
        nodes.append(
            Node("condition", _("Condition"), (words.condition_words(conditions),), "conditions")
        )
    if spec.get("unless"):
        nodes.append(
            Node("wait", _("Wait / unless"), (words.unless_words(spec["unless"]),), "unless")
        )
    if spec.get("delay"):
        nodes.append(
            Node(
                "wait",
                _("Delay"),
                (_("wait %(period)s") % {"period": words.duration_words(spec["delay"])},),
                "delay",
            )
        )
    guards = spec.get("guards") if isinstance(spec.get("guards"), Mapping) else {}
    offer_lines = []
    variants = spec.get("variants")
    if isinstance(variants, list):
        for variant in variants:
            if isinstance(variant, Mapping):
                actions = variant.get("actions")
                acts = (
                    words.and_list([words.action_words(a) for a in actions])
                    if isinstance(actions, list)
                    else words.UNKNOWN
                )
                share = variant.get("share")
                percent = f"{share * 100:g}%" if isinstance(share, int | float) else "?"
                offer_lines.append(f"{variant.get('name')} ({percent}): {acts}")
    else:
        offer_lines.append(words.actions_words(spec))
    holdout = guards.get("holdout") if isinstance(guards, Mapping) else None
    if isinstance(holdout, int | float) and holdout:
        offer_lines.append(
            _("control group: %(percent)s held out") % {"percent": f"{holdout * 100:g}%"}
        )
    offer_path = "variants" if "variants" in spec else "actions"
    nodes.append(Node("offer", _("Offer"), tuple(offer_lines), offer_path))
    limits = words.guard_sentences(guards, holdout=False)
    if limits:
        nodes.append(Node("limits", _("Limits"), tuple(limits), "guards"))
    if spec.get("goal"):
        nodes.append(Node("goal", _("Goal"), (words.goal_sentence(spec["goal"]),), "goal"))
    return nodes


def flow_svg(spec: object, *, error_paths: Collection[str] = ()) -> str:
    """An SVG of the blocks top to bottom; blocks with errors get a red border."""
    if not isinstance(spec, Mapping):
        spec = {}
    parts: list[str] = []
    y = PAD
    previous_bottom: int | None = None
    for node in flow_nodes(spec):
        lines: list[str] = []
        for line in node.lines:
            lines.extend(textwrap.wrap(line, WRAP) or [""])
        height = 24 + LINE * len(lines) + PAD // 2
        fill, stroke = COLOURS[node.kind]
        broken = any(is_under(path, node.path) for path in error_paths)
        if broken:
            stroke = "#dc3545"
        if previous_bottom is not None:
            middle = PAD + WIDTH // 2
            parts.append(
                f'<line x1="{middle}" y1="{previous_bottom}" x2="{middle}" y2="{y - 2}" '
                'stroke="#adb5bd" stroke-width="2" marker-end="url(#arrow)"/>'
            )
        dash = ' stroke-dasharray="6 3"' if node.kind == "wait" else ""
        parts.append(
            f'<g class="flow-node" data-path="{escape(node.path)}">'
            f'<rect x="{PAD}" y="{y}" width="{WIDTH}" height="{height}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{3 if broken else 1.5}"{dash}/>'
            f'<text x="{PAD + 10}" y="{y + 17}" font-weight="600" font-size="12" '
            f'fill="{stroke}">{escape(node.title)}{" ⚠" if broken else ""}</text>'
        )
        for index, line in enumerate(lines):
            parts.append(
                f'<text x="{PAD + 10}" y="{y + 34 + index * LINE}" font-size="11.5" '
                f'fill="#212529">{escape(line)}</text>'
            )
        parts.append("</g>")
        previous_bottom = y + height
        y += height + GAP
    total = y - GAP + PAD
    label = escape(_("Campaign flow"))  # outside the f-string, where makemessages sees it
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 2 * PAD}" height="{total}" '
        f'viewBox="0 0 {WIDTH + 2 * PAD} {total}" role="img" '
        f'aria-label="{label}" '
        'data-testid="flow-diagram" font-family="system-ui, sans-serif">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#adb5bd"/></marker></defs>' + "".join(parts) + "</svg>"
    )
