"""Training batches of a sequence table: whole sequences (or random windows of long ones),
flattened to rows with their contexts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from synth_dagster.engine.sequence.network import SequenceNetwork
from synth_dagster.engine.training import ColumnOrders, TrainingSettings, auto_batch_size


@dataclass
class SequenceLayout:
    """Where each sequence's rows are in the (parent-ordered) training rows."""

    starts: np.ndarray  # first row of each parent's sequence
    lengths: np.ndarray  # rows per parent (0 for parents without children)

    @classmethod
    def of(cls, parent_of_row: np.ndarray, n_parents: int) -> SequenceLayout:
        lengths = np.bincount(parent_of_row, minlength=n_parents)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(starts, lengths)


class SequenceBatches:
    """Training batches of whole sequences (or windows of long ones), flattened to rows."""

    def __init__(
        self,
        network: SequenceNetwork,
        codes: np.ndarray,
        parent_codes: np.ndarray,
        layout: SequenceLayout,
        window: int | None,
        settings: TrainingSettings,
        seed: int,
    ):
        self.network = network
        self.settings = settings
        self.codes = torch.from_numpy(codes)
        self.parent_codes = torch.from_numpy(parent_codes)
        self.layout = layout
        self.window = window or int(max(layout.lengths.max(initial=1), 1))
        self.rng = np.random.default_rng(seed)
        self.orders = ColumnOrders(
            network.argn.shape, settings.enable_flexible_generation, torch.Generator().manual_seed(seed)
        )
        windowed = np.minimum(layout.lengths[layout.lengths > 0], self.window)
        self.rows_per_batch = settings.batch_size or auto_batch_size(int(windowed.sum()))
        self.sequences_per_batch = max(1, int(round(self.rows_per_batch / max(windowed.mean(), 1.0))))

    def split_parents(self, validation_parents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(training, validation) parents with rows; without validation parents, a tenth of the
        training ones validate (the validation loss is shown, it must have rows)."""
        with_rows = self.layout.lengths > 0
        train_parents = np.flatnonzero(with_rows & ~validation_parents)
        val_parents = np.flatnonzero(with_rows & validation_parents)
        if not len(val_parents):
            val_parents = train_parents[: max(1, len(train_parents) // 10)]
        return train_parents, val_parents

    def steps_per_epoch(self, parents: np.ndarray) -> int:
        return math.ceil(len(parents) / self.sequences_per_batch)

    def _batch(
        self, parents: np.ndarray, random_window: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lengths = self.layout.lengths[parents]
        windows = np.minimum(lengths, self.window)
        if random_window:
            offsets = (self.rng.random(len(parents)) * (lengths - windows + 1)).astype(np.int64)
        else:
            offsets = np.zeros(len(parents), dtype=np.int64)
        steps = int(windows.max())
        grid = np.arange(steps)[None, :]
        valid = grid < windows[:, None]
        index = np.where(valid, self.layout.starts[parents, None] + offsets[:, None] + grid, 0)
        row_codes = self.codes[torch.from_numpy(index)]
        position = torch.from_numpy(offsets[:, None] + grid)
        remaining = torch.from_numpy(lengths[:, None] - 1) - position
        context = self.network.context(
            self.parent_codes[torch.from_numpy(parents)], row_codes, position, remaining
        )
        valid_t = torch.from_numpy(valid)
        return row_codes[valid_t], context[valid_t], valid_t

    def epoch(self, parents: np.ndarray) -> Iterator[tuple[torch.Tensor, int]]:
        order = parents[self.rng.permutation(len(parents))]
        for start in range(0, len(order), self.sequences_per_batch):
            codes, context, _ = self._batch(order[start : start + self.sequences_per_batch], True)
            yield self.orders.loss(self.network.argn, codes, context), len(codes)

    def rows_and_contexts(self, parents: np.ndarray) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every row of the given sequences with its context (whole windows from the start); the
        network's mode is the caller's."""
        with torch.no_grad():
            for start in range(0, len(parents), 256):
                codes, context, _ = self._batch(parents[start : start + 256], False)
                yield codes, context

    def validation(self, parents: np.ndarray) -> float:
        total, count = 0.0, 0
        for codes, context in self.rows_and_contexts(parents):
            total += float(self.orders.canonical_loss(self.network.argn, codes, context)) * len(codes)
            count += len(codes)
        return total / max(count, 1)
