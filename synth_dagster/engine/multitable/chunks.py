"""Generation of any size in fixed chunks: what each chunk draws, its seed and its key range.

Chunk boundaries are fixed in rows (by the sizes and `chunk_rows`), and chunk i's seed is
`SeedSequence([random_state, i])`: the same sizes and seed give the same rows whichever process
draws which chunk (a worker, a Dagster partition, or one loop over all of them). Subject tables are
split across the chunks; tables under a context key follow their parents' chunk; lookup tables are
kept as they are and come with chunk 0 only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth_dagster.domain import SyntheticDatasetConfig, SyntheticTableConfig, SyntheticTableConfiguration
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.multitable.generation import TrainedGenerator
from synth_dagster.engine.progress import ProgressCallback, no_progress

DEFAULT_CHUNK_ROWS = 250_000
# primary keys of a child table in chunk i start at i * CHILD_KEY_STRIDE: its row count per chunk is
# only known once drawn, so its key ranges are reserved by chunk index instead of by row offset
CHILD_KEY_STRIDE = 10**9


@dataclass(frozen=True)
class ChunkPlan:
    """Subject table -> rows, split into `n_chunks` chunks at fixed row boundaries."""

    sizes: dict[str, int]
    n_chunks: int
    random_state: int | None
    children: tuple[str, ...] = ()
    lookups: tuple[str, ...] = ()
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    seeded: bool = field(default=False)

    def offset(self, table: str, index: int) -> int:
        return self.sizes[table] * index // self.n_chunks

    def rows(self, table: str, index: int) -> int:
        return self.offset(table, index + 1) - self.offset(table, index)

    def seed(self, index: int) -> int | None:
        """Chunk `index`'s random_state; a single chunk keeps the config's own (the unchunked draw)."""
        if self.n_chunks == 1:
            return self.random_state
        assert self.random_state is not None
        state = np.random.SeedSequence([self.random_state, index]).generate_state(1, np.uint32)[0]
        return int(state) & 0x7FFFFFFF

    def partition(self, index: int, count: int) -> range:
        """The chunks of partition `index` of `count`: consecutive, disjoint, covering all chunks."""
        if not 0 <= index < count:
            raise EngineInputError(f"partition index {index} is not in 0..{count - 1}")
        return range(self.n_chunks * index // count, self.n_chunks * (index + 1) // count)

    @property
    def total_rows(self) -> int:
        return sum(self.sizes.values())


def plan_chunks(
    trained: TrainedGenerator, config: SyntheticDatasetConfig, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> ChunkPlan:
    """How a dataset config is drawn in chunks of at most `chunk_rows` rows of its largest subject table."""
    if chunk_rows < 1:
        raise EngineInputError(f"chunk_rows must be a positive integer, got {chunk_rows}")
    sizes: dict[str, int] = {}
    children, lookups = [], []
    seeded = False
    for name in trained.order:
        kind = trained.roles(name).kind
        tc = config.table_configuration(name)
        seeded = seeded or tc.has_seed
        if kind == "lookup":
            lookups.append(name)
        elif kind == "flat":
            size = tc.effective_sample_size(
                is_subject=True, training_rows=trained.summaries[name].rows, is_probe=False
            )
            sizes[name] = int(size or 0)
        else:
            children.append(name)
    largest = max(sizes.values(), default=0)
    # a seed fixes the rows of the draw itself: it is drawn as one chunk
    n_chunks = 1 if seeded or largest == 0 else -(-largest // chunk_rows)
    # one chunk draws what the config asks (a seeded table's size is its seed's rows, not sizes')
    small = {t: s for t, s in sizes.items() if s < n_chunks} if n_chunks > 1 else {}
    if small:
        raise EngineInputError(
            f"tables {sorted(small)} have fewer rows ({small}) than the {n_chunks} chunks of the draw; "
            "raise their sample_size or the chunk size"
        )
    random_state = config.random_state
    if random_state is None and n_chunks > 1:
        # drawn once per dataset, so that all chunks of one draw share it
        random_state = int(np.random.SeedSequence().entropy % 2**31)
    return ChunkPlan(sizes, n_chunks, random_state, tuple(children), tuple(lookups), chunk_rows, seeded)


def chunk_config(config: SyntheticDatasetConfig, plan: ChunkPlan, index: int) -> SyntheticDatasetConfig:
    """The config that draws chunk `index`: its subject rows and its seed."""
    if plan.n_chunks == 1:
        return config
    tables = []
    listed = {t.name: t for t in config.tables or []}
    for name in {**dict.fromkeys(listed), **dict.fromkeys(plan.sizes)}:
        table = listed.get(name) or SyntheticTableConfig(
            name=name, configuration=SyntheticTableConfiguration()
        )
        if name in plan.sizes:
            configuration = table.configuration.model_copy(update={"sample_size": plan.rows(name, index)})
            table = table.model_copy(update={"configuration": configuration})
        tables.append(table)
    return config.model_copy(update={"tables": tables, "random_state": plan.seed(index)})


def generate_chunk(
    trained: TrainedGenerator,
    config: SyntheticDatasetConfig,
    plan: ChunkPlan,
    index: int,
    on_progress: ProgressCallback = no_progress,
) -> dict[str, pd.DataFrame]:
    """The tables of chunk `index`; lookup tables only in chunk 0."""
    if not 0 <= index < plan.n_chunks:
        raise EngineInputError(f"chunk {index} is not in 0..{plan.n_chunks - 1}")
    spans: dict[str, tuple[int, int]] | None = None
    if plan.n_chunks > 1:
        spans = {t: (plan.offset(t, index), plan.sizes[t]) for t in plan.sizes}
        total_children = plan.n_chunks * CHILD_KEY_STRIDE
        spans.update({t: (index * CHILD_KEY_STRIDE, total_children) for t in plan.children})
    frames = trained.generate(chunk_config(config, plan, index), on_progress=on_progress, spans=spans)
    if index > 0:
        frames = {t: f for t, f in frames.items() if t not in plan.lookups}
    for table in plan.children:
        if table in frames and len(frames[table]) >= CHILD_KEY_STRIDE:
            raise EngineInputError(f"table {table!r}: a chunk drew more than {CHILD_KEY_STRIDE} rows")
    return frames


def iter_chunks(
    trained: TrainedGenerator,
    config: SyntheticDatasetConfig,
    plan: ChunkPlan,
    chunks: Iterable[int] | None = None,
    on_progress: ProgressCallback = no_progress,
) -> Iterator[tuple[int, dict[str, pd.DataFrame]]]:
    """(index, tables) of each chunk in `chunks` (default: all), one at a time."""
    for index in range(plan.n_chunks) if chunks is None else chunks:
        yield index, generate_chunk(trained, config, plan, index, on_progress)
