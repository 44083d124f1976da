"""JSON paths in the engine's notation ("conditions.all[1].value") and edits along them."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

Step = str | int
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class PathError(ValueError):
    """The path does not fit the spec (a stale editor, or a hand-made request)."""


def parse_path(path: str) -> list[Step]:
    if not path:
        return []
    steps: list[Step] = []
    position = 0
    for match in _TOKEN.finditer(path):
        gap = path[position : match.start()]
        if gap not in ("", "."):
            raise PathError(f"'{path}' is not a path in the spec.")
        position = match.end()
        steps.append(int(match.group(2)) if match.group(2) is not None else match.group(1))
    if position != len(path):
        raise PathError(f"'{path}' is not a path in the spec.")
    return steps


def join_path(path: str, step: Step) -> str:
    if isinstance(step, int):
        return f"{path}[{step}]"
    return f"{path}.{step}" if path else step


def format_path(steps: list[Step]) -> str:
    path = ""
    for step in steps:
        path = join_path(path, step)
    return path


def get_at(spec: object, path: str, default: object = None) -> object:
    node = spec
    for step in parse_path(path):
        in_list = isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node)
        in_object = isinstance(step, str) and isinstance(node, Mapping) and step in node
        if in_list or in_object:
            node = node[step]  # type: ignore[index]  # checked just above
        else:
            return default
    return node


def _parent(spec: dict[str, object], steps: list[Step], create: bool) -> object:
    node: object = spec
    for index, step in enumerate(steps[:-1]):
        following = steps[index + 1]
        if isinstance(step, int):
            if not isinstance(node, list) or not 0 <= step < len(node):
                raise PathError(f"There is no item {step + 1} at '{format_path(steps[:index])}'.")
            child = node[step]
            if not isinstance(child, dict | list):
                if not create:
                    raise PathError(f"'{format_path(steps[: index + 1])}' holds no fields.")
                child = node[step] = [] if isinstance(following, int) else {}
            node = child
        else:
            if not isinstance(node, dict):
                raise PathError(f"'{format_path(steps[:index])}' holds no fields.")
            child = node.get(step)
            if not isinstance(child, dict | list):
                if not create:
                    raise PathError(f"'{format_path(steps[: index + 1])}' is missing.")
                child = node[step] = [] if isinstance(following, int) else {}
            node = child
    return node


def set_at(spec: Mapping[str, object], path: str, value: object) -> dict[str, object]:
    """A copy of ``spec`` with ``value`` at ``path`` (missing objects on the way are created)."""
    steps = parse_path(path)
    result: dict[str, object] = copy.deepcopy(dict(spec))
    if not steps:
        if not isinstance(value, dict):
            raise PathError("The whole spec must be an object.")
        return copy.deepcopy(value)
    parent = _parent(result, steps, create=True)
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(parent, list) or not 0 <= last <= len(parent):
            raise PathError(f"There is no item {last + 1} at '{format_path(steps[:-1])}'.")
        if last == len(parent):
            parent.append(value)
        else:
            parent[last] = value
    else:
        if not isinstance(parent, dict):
            raise PathError(f"'{format_path(steps[:-1])}' holds no fields.")
        parent[last] = value
    return result


def remove_at(spec: Mapping[str, object], path: str) -> dict[str, object]:
    """A copy without the value at ``path``; removing what is not there changes nothing."""
    steps = parse_path(path)
    result: dict[str, object] = copy.deepcopy(dict(spec))
    if not steps:
        return result
    try:
        parent = _parent(result, steps, create=False)
    except PathError:
        return result
    last = steps[-1]
    if isinstance(last, int) and isinstance(parent, list) and 0 <= last < len(parent):
        del parent[last]
    elif isinstance(last, str) and isinstance(parent, dict):
        parent.pop(last, None)
    return result


def insert_at(spec: Mapping[str, object], list_path: str, value: object) -> dict[str, object]:
    """Append ``value`` to the list at ``list_path`` (created when missing)."""
    current = get_at(spec, list_path)
    items = list(current) if isinstance(current, list) else []
    items.append(value)
    return set_at(spec, list_path, items)


def move_at(spec: Mapping[str, object], path: str, offset: int) -> dict[str, object]:
    """Move the list item at ``path`` by ``offset`` places (clamped to the list)."""
    steps = parse_path(path)
    if not steps or not isinstance(steps[-1], int):
        raise PathError(f"'{path}' is not an item of a list.")
    list_path = format_path(steps[:-1])
    items = get_at(spec, list_path)
    if not isinstance(items, list) or not 0 <= steps[-1] < len(items):
        raise PathError(f"There is no item at '{path}'.")
    items = list(items)
    item = items.pop(steps[-1])
    target = max(0, min(len(items), steps[-1] + offset))
    items.insert(target, item)
    return set_at(spec, list_path, items)


def is_under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or inside it (on a step boundary)."""
    if not prefix:
        return True
    return path == prefix or path.startswith((prefix + ".", prefix + "["))
