"""Tiny helper for generating Python source for the hot path.

Why generated code: an ``all`` of five predicates as nested closures costs five Python calls per
evaluation; as one generated function it is one call and inline comparisons (measured in
``bench/engine_core.py``: see ``EvaluatorBackend``). Only constants chosen by the compiler are
placed in the source text (names and numbers via ``repr``); user values live in the namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast


class CodeGen:
    def __init__(self) -> None:
        self.namespace: dict[str, object] = {}
        self._ids: dict[int, str] = {}

    def const(self, value: object, prefix: str = "_k") -> str:
        """A name in the generated module's namespace bound to ``value``."""
        key = id(value)
        name = self._ids.get(key)
        if name is None:
            name = f"{prefix}{len(self.namespace)}"
            self.namespace[name] = value
            self._ids[key] = name
        return name

    def function(self, name: str, params: str, body_lines: list[str]) -> Callable[..., object]:
        source = f"def {name}({params}):\n" + "".join(f"    {line}\n" for line in body_lines)
        namespace = dict(self.namespace)
        exec(compile(source, f"<rule {name}>", "exec"), namespace)
        function = namespace[name]
        function.__source__ = source  # type: ignore[attr-defined]  # kept for debugging
        return cast("Callable[..., object]", function)  # exec's namespace is untyped
