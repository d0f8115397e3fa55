"""The client layer: SynthClient over a store of generators, synthetic datasets and connectors."""

from synth_dagster.domain import ConfigError
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.sdk.client import SynthClient
from synth_dagster.sdk.connectors import Connector
from synth_dagster.sdk.datasets import SyntheticDataset
from synth_dagster.sdk.errors import (
    InvalidFileError,
    InvalidRequestError,
    JobFailedError,
    JobStateError,
    MissingFileError,
    NotFoundError,
    SynthClientError,
)
from synth_dagster.sdk.records import Generator, TableView

__all__ = [
    "ConfigError",
    "Connector",
    "EngineInputError",
    "Generator",
    "InvalidFileError",
    "InvalidRequestError",
    "JobFailedError",
    "JobStateError",
    "MissingFileError",
    "NotFoundError",
    "SynthClient",
    "SynthClientError",
    "SyntheticDataset",
    "TableView",
]
