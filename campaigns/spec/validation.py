"""The one place campaigns ask the engine's compiler whether a spec is valid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from campaigns.spec.catalog import Catalog, catalog_load
from campaigns.spec.paths import is_under, join_path
from realtime.engine.compiler import validate_spec


@dataclass(frozen=True)
class SpecProblem:
    path: str
    message: str
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "code": self.code}


def _references(spec: Mapping[str, object], catalog: Catalog) -> list[SpecProblem]:
    """Offers the compiler cannot know about: a deleted or inactive offer breaks its block."""
    problems: list[SpecProblem] = []
    if not catalog.has_offers:
        return problems
    lists: list[tuple[str, object]] = [("actions", spec.get("actions"))]
    variants = spec.get("variants")
    if isinstance(variants, list):
        for index, variant in enumerate(variants):
            if isinstance(variant, Mapping):
                lists.append((f"variants[{index}].actions", variant.get("actions")))
    for path, actions in lists:
        if not isinstance(actions, list):
            continue
        for index, action in enumerate(actions):
            slug = action.get("offer") if isinstance(action, Mapping) else None
            if isinstance(slug, str) and slug and slug not in catalog.offers:
                problems.append(
                    SpecProblem(
                        join_path(join_path(path, index), "offer"),
                        f"Action {index + 1}: there is no active offer '{slug}'; pick another "
                        "or create it under Offers.",
                        "unknown_offer",
                    )
                )
    return problems


def spec_problems(spec: object, *, catalog: Catalog | None = None) -> list[SpecProblem]:
    """Every reason this spec cannot be published; empty when it can. Never raises."""
    catalog = catalog if catalog is not None else catalog_load()
    problems = [
        SpecProblem(error.path, error.message, error.code)
        for error in validate_spec(spec, event_types=catalog.engine_event_types())
    ]
    if isinstance(spec, Mapping):
        problems += _references(spec, catalog)
    return problems


def problems_under(problems: list[SpecProblem], path: str) -> list[SpecProblem]:
    return [problem for problem in problems if is_under(problem.path, path)]
