"""Errors the engine raises on bad input; each message says what is wrong and how to fix it."""

from synth_dagster.domain.errors import SynthDagsterError


class EngineInputError(SynthDagsterError, ValueError):
    """The data or settings handed to the engine cannot be used as they are."""


class TrainingCanceled(SynthDagsterError, RuntimeError):
    """Training was stopped on request."""


class SeedOutsideTrainingWarning(UserWarning):
    """A seed value the generator never learned: a number or date outside the (value-protected)
    training range, or a category it cannot produce. The row keeps the value; its other columns are
    drawn as for the nearest value it knows."""
