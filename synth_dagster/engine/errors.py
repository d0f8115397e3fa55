"""Errors the engine raises on bad input; each message says what is wrong and how to fix it."""


class EngineInputError(ValueError):
    """The data or settings handed to the engine cannot be used as they are."""


class TrainingCanceled(RuntimeError):
    """Training was stopped on request."""
