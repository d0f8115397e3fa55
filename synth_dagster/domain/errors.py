"""Errors raised by the domain layer when a configuration cannot be used as given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class SynthDagsterError(Exception):
    """Base of every error the package raises on purpose: its message says what is wrong and how to fix it.

    `except SynthDagsterError` catches configuration, input, job and connector errors alike.
    """


class ConfigError(SynthDagsterError, ValueError):
    """A configuration is invalid; the message says what is wrong and how to fix it.

    Subclasses ValueError so that pydantic validators may raise it (pydantic then wraps it in a
    ValidationError, which is also a ValueError). `problems` holds one line per problem found.
    """

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def raise_if_problems(problems: list[str]) -> None:
    """Raise one ConfigError listing every problem, so users can fix them all in one go."""
    if problems:
        raise ConfigError(problems)


def parse(model: type[T], data: Any, what: str = "config") -> T:
    """`model.model_validate(data)`, with pydantic's errors turned into one ConfigError that names
    each field and what to do, without echoing the input (which may hold a whole DataFrame)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([f"{what}: {line}" for line in validation_problems(exc)]) from None


def validation_problems(exc: ValidationError) -> list[str]:
    """One line per pydantic error: the field's path, the problem and, for unknown fields, the fix."""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = (
                "is not a field here; check its spelling against the documented field names, or remove it"
            )
        problems.append(f"{loc}: {message}")
    return problems
