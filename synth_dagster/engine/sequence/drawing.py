"""The state of drawing sequences row by row: each sequence's parent vector, history and last
row, the rows drawn so far, and the seed rows that open sequences."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.sequence.determined import ForcedColumn
from synth_dagster.engine.sequence.network import SequenceContext


@dataclass
class SequenceSeeds:
    """Seed rows in model codes: the parent of each (ordered by parent), its fixed codes, which
    columns it gives, its step in its sequence, and the exact values of rising columns."""

    parent: np.ndarray
    fixed: np.ndarray
    given: np.ndarray
    step: np.ndarray
    exact: dict[str, np.ndarray]


@dataclass
class SequenceDrawing:
    parent: torch.Tensor  # parent vectors [N, width]
    state: torch.Tensor  # history state per sequence
    previous: torch.Tensor  # last drawn row's codes per sequence
    codes: list[np.ndarray] = field(default_factory=list)
    parents: list[np.ndarray] = field(default_factory=list)
    steps: list[np.ndarray] = field(default_factory=list)
    # rising columns: each sequence's value so far, and every drawn row's value
    rising_last: dict[str, np.ndarray] = field(default_factory=dict)
    rising: dict[str, list[np.ndarray]] = field(default_factory=dict)
    # columns of the first or last row that follow the parent's (see `determined`)
    forced: list[ForcedColumn] = field(default_factory=list)

    @classmethod
    def start(cls, context: SequenceContext, parent_codes: np.ndarray, n_sub: int) -> SequenceDrawing:
        parent = context.parent_vector(torch.from_numpy(parent_codes))
        previous = torch.zeros(len(parent_codes), n_sub, dtype=torch.long)
        return cls(parent, context.initial_state(parent), previous)

    def add(self, codes: np.ndarray, active: np.ndarray, step: int) -> None:
        self.codes.append(codes)
        self.parents.append(active)
        self.steps.append(np.full(len(active), step))

    def ordered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(codes, parent of each row, the order applied): rows by parent, then position."""
        codes, parent_of_row = np.concatenate(self.codes), np.concatenate(self.parents)
        order = np.lexsort((np.concatenate(self.steps), parent_of_row))
        return codes[order], parent_of_row[order], order


def seed_rows(parent_of_row: np.ndarray, seed_parent: np.ndarray) -> np.ndarray:
    """Where seed rows (ordered by parent) landed in rows ordered by parent, then position: each
    parent's seed rows open its sequence."""
    steps = pd.Series(seed_parent).groupby(seed_parent).cumcount().to_numpy()
    return np.searchsorted(parent_of_row, seed_parent) + steps


def overlay_at(values: pd.Series, rows: np.ndarray, seeded: pd.Series) -> pd.Series:
    """`values` with the `seeded` values at `rows`, in values' dtype where they fit."""
    seeded = seeded.reset_index(drop=True)
    try:
        out = values.copy()
        out.iloc[rows] = seeded.astype(values.dtype).to_numpy()
        return out
    except (TypeError, ValueError):
        out = values.astype(object)
        out.iloc[rows] = seeded.astype(object).to_numpy()
        return out
