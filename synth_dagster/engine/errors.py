"""Errors the engine raises on bad input; each message says what is wrong and how to fix it."""

from synth_dagster.domain.errors import SynthDagsterError


class EngineInputError(SynthDagsterError, ValueError):
    """The data or settings handed to the engine cannot be used as they are."""


class TrainingCanceled(SynthDagsterError, RuntimeError):
    """Training was stopped on request."""
