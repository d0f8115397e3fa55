"""Errors raised by the domain layer when a configuration cannot be used as given."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
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
