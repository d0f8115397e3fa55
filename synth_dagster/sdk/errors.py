"""Exceptions of the client; each message says what went wrong and what to do about it."""

from __future__ import annotations

from synth_dagster.domain.errors import SynthDagsterError
from synth_dagster.engine.errors import EngineInputError


class SynthClientError(SynthDagsterError, RuntimeError):
    """Base class of the client's own errors."""


class NotFoundError(SynthClientError, LookupError):
    """No generator, synthetic dataset or connector with that id (or name) in the store."""


class JobStateError(SynthClientError):
    """The operation does not fit the current status (e.g. generating from an untrained generator)."""


class JobFailedError(SynthClientError):
    """A training or generation job ended with status FAILED; `logs()` has the details."""


class InvalidFileError(JobStateError, ValueError):
    """A file handed to the client (an exported generator, a table) is malformed, too large or altered."""


class MissingFileError(NotFoundError, FileNotFoundError):
    """No file at the path or URL handed to the client."""


# why EngineInputError too: the sdk raised the engine's error for these checks before it had its own,
# and callers (tests, the CLI, user code) catch them as EngineInputError / ValueError
class InvalidRequestError(SynthClientError, EngineInputError):
    """An argument, config or frame handed to the client cannot be used; the message says how to fix it."""
