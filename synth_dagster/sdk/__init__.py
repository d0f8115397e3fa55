"""The client layer: SynthClient over a store of generators and synthetic datasets."""

from synth_dagster.sdk.client import SynthClient
from synth_dagster.sdk.records import Generator, SyntheticDataset

__all__ = ["Generator", "SynthClient", "SyntheticDataset"]
