"""Compile errors that point at the block of the spec that caused them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpecError:
    """One problem in a rule spec.

    ``path`` is a JSON path into the spec ("conditions.all[1].value"); ``message`` is a sentence
    a marketer understands; ``code`` a stable machine-readable id for the UI.
    """

    path: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "code": self.code}

    def __str__(self) -> str:
        return f"{self.path or '(spec)'}: {self.message}"


class SpecErrors(Exception):
    """Raised by :func:`compile_spec` / :func:`build_plan` when a spec cannot be activated."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors: tuple[SpecError, ...] = tuple(errors)
        super().__init__("; ".join(str(error) for error in errors) or "invalid spec")

    def to_list(self) -> list[dict[str, str]]:
        return [error.to_dict() for error in self.errors]
