"""A generation job's tables written chunk by chunk, so that its memory does not grow with its size.

A draw of one chunk keeps the layout of small datasets (`data/<table>.parquet`); a larger one is a
Parquet dataset per table (`data/<table>/part-00000.parquet`, one part per chunk). Only chunk 0's
tables stay in memory: they are the rows the data report scores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synth_dagster.domain import SyntheticDatasetConfig
from synth_dagster.engine import TrainedGenerator
from synth_dagster.engine.multitable.chunks import ChunkPlan, iter_chunks
from synth_dagster.engine.progress import ProgressCallback
from synth_dagster.sdk.jobs.state import table_file

PART = "part-{:05d}.parquet"


@dataclass
class Streamed:
    """What was written: rows and columns per table, where (relative to the data folder), chunk 0."""

    rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    sample: dict[str, pd.DataFrame] = field(default_factory=dict)


def part_name(index: int) -> str:
    return PART.format(index)


def write_chunks(
    trained: TrainedGenerator,
    config: SyntheticDatasetConfig,
    plan: ChunkPlan,
    data_dir: Path,
    check: Callable[[], None],
    on_progress: ProgressCallback,
) -> Streamed:
    """Draw every chunk of `plan` and write its tables below `data_dir` as they come."""
    out = Streamed()
    for index, frames in iter_chunks(trained, config, plan, on_progress=on_progress):
        check()
        for name, frame in frames.items():
            if plan.n_chunks == 1:
                relative = f"{table_file(name)}.parquet"
                target = data_dir / relative
            else:
                relative = table_file(name)
                target = data_dir / relative / part_name(index)
                target.parent.mkdir(exist_ok=True)
            frame.to_parquet(target, index=False)
            out.paths[name] = relative
            out.rows[name] = out.rows.get(name, 0) + len(frame)
            out.parts[name] = out.parts.get(name, 0) + 1
            out.columns.setdefault(name, list(frame.columns))
        if index == 0:
            out.sample = frames
    return out


def local_parts(data_dir: Path, relative: str) -> Iterator[pd.DataFrame]:
    """The frames of a written table, part by part (one frame for a single file)."""
    target = data_dir / relative
    files = sorted(target.glob("part-*.parquet")) if target.is_dir() else [target]
    for file in files:
        yield pd.read_parquet(file)
