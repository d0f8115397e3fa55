"""Errors of the mock-data generator; each message says what is wrong and how to fix it."""

from __future__ import annotations

from synth_dagster.domain.errors import ConfigError, SynthDagsterError

__all__ = [
    "MockCancelledError",
    "MockConfigError",
    "MockGenerationError",
    "MockSpecError",
]


class MockSpecError(ConfigError):
    """The table specification (or sample_size / existing_data) cannot be used as given."""


class MockConfigError(ConfigError):
    """The LLM access is not configured: no API key, no endpoint, or a model string LiteLLM does not know.

    Raised before any call is made."""


class MockGenerationError(SynthDagsterError):
    """The model did not produce valid rows within the allowed retries (or the provider failed)."""


class MockCancelledError(SynthDagsterError):
    """Generation was cancelled through the `cancel` event; nothing was returned."""
