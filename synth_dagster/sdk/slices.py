"""A slice of a synthetic dataset: the chunks of partition i of n, drawn where the caller runs.

What a Dagster partition (or any worker) generates: the generator is loaded from the shared store
(a folder or an fsspec URL), the dataset's chunk plan is fixed by its sizes, `random_state` and
`chunk_rows`, and partition i of n draws its consecutive chunks, so n partitions together give
exactly the rows of one run (chunks.py). Partition keys name their slice: "3-of-8".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from synth_dagster.domain import SyntheticDatasetConfig
from synth_dagster.engine.multitable.chunks import DEFAULT_CHUNK_ROWS, iter_chunks, plan_chunks
from synth_dagster.sdk.client import SynthClient
from synth_dagster.sdk.errors import InvalidRequestError
from synth_dagster.sdk.synthetic import build_config

_KEY = re.compile(r"^(\d+)-of-(\d+)$")


def slice_keys(count: int) -> list[str]:
    """The partition keys of a dataset drawn in `count` slices: "0-of-4" .. "3-of-4"."""
    if count < 1:
        raise InvalidRequestError(f"the number of slices must be positive, got {count}")
    return [f"{i}-of-{count}" for i in range(count)]


def parse_slice_key(key: str) -> tuple[int, int]:
    """(index, count) of a partition key "i-of-n"."""
    match = _KEY.match(key)
    if not match or not int(match[1]) < int(match[2]):
        raise InvalidRequestError(
            f"partition key {key!r} does not name a slice; use keys of the form 'i-of-n' (see slice_keys)"
        )
    return int(match[1]), int(match[2])


def generate_slice(
    client: SynthClient,
    generator_id: str,
    config: SyntheticDatasetConfig | dict[str, Any] | None,
    index: int,
    count: int,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[dict[str, pd.DataFrame]]:
    """The tables of each chunk of slice `index` of `count`, one chunk at a time."""
    generator = client.generators.get(generator_id)
    cfg = build_config(generator, config, None, None, probe=False)
    assert isinstance(cfg, SyntheticDatasetConfig)
    if cfg.random_state is None:
        raise InvalidRequestError(
            "a dataset drawn in slices needs a random_state: every slice derives its chunk seeds from it"
        )
    if any(t.configuration.has_seed for t in cfg.tables or []):
        raise InvalidRequestError("a seeded dataset is drawn in one piece; drop the seed or the partitions")
    trained = client._trained(generator)
    plan = plan_chunks(trained, cfg, chunk_rows)
    chunks = plan.partition(index, count)
    if not chunks:  # more slices than chunks: an empty part, with the tables' columns and dtypes
        probe = client.probe(generator, size=1, return_type="dict")
        assert isinstance(probe, dict)
        yield {name: frame.head(0) for name, frame in probe.items()}
    for _, frames in iter_chunks(trained, cfg, plan, chunks):
        yield frames
