"""Parent columns that the first or the last row of their sequence determines.

A player's `first_team` is, in the data, the team of the player's first season. The sequence
model sees the parent's columns as context but learns such a link only roughly (58% of the first
seasons on baseball), so training records the links that hold for nearly every parent
(`find_determined`, kept in the workspace with the model) and generation draws that row's column
as its parent's value: its codes are masked to the one allowed (`forced_codes`, `step_masks`),
and the rest of the row and the rows after it are drawn seeing it, so the sequence stays coherent.

Only plain categorical columns are forced, and only to a category of the child's own encoding: a
parent value that the child's value protection left out (rare or unseen) is not forced, the model
draws that row as it would without the link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.categorical import RARE_CODE
from synth_dagster.engine.flat import FlatGenerator

# Share of the parents with rows whose row must agree: a link that a few parents break is still a
# link; one that many break is a tendency, which the model learns from the context.
MIN_AGREEMENT = 0.99
# Parents that must agree on a non-empty value: fewer say nothing (empty == empty is no link).
MIN_PARENTS = 20
# Most pairs of columns disagree at once: a first look at this many parents rules them out.
SCREEN_PARENTS = 200
SCREEN_AGREEMENT = 0.9
ROWS = ("first", "last")


@dataclass(frozen=True)
class DeterminedColumn:
    """In training, `parent_column` equals `column` of the `row` ("first" or "last") of the
    parent's sequence for `share` of the parents with rows."""

    parent_column: str
    column: str
    row: str
    share: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeterminedColumn:
        row = str(data["row"])
        if row not in ROWS:
            raise ValueError(f"a determined column's row is one of {ROWS}, not {row!r}")
        return cls(str(data["parent_column"]), str(data["column"]), row, float(data["share"]))


@dataclass(frozen=True)
class ForcedColumn:
    """One link at generation: the code that `row` of each parent's sequence takes in
    `sub_column` (-1: not forced, the model draws it)."""

    row: str
    sub_column: int
    codes: np.ndarray


def forceable_columns(rows: FlatGenerator, columns: Iterable[str]) -> list[str]:
    """The `columns` that generation can force: categorical model columns of their own (not
    merged into a combination by a constraint)."""
    plans = {p.name: p for p in rows.plans}
    return [
        c
        for c in columns
        if c in plans
        and plans[c].encoding_type == "TABULAR_CATEGORICAL"
        and rows.transforms.model_column(c) == c
    ]


def find_determined(
    parents: pd.DataFrame, frame: pd.DataFrame, parent_of_row: np.ndarray, columns: Sequence[str]
) -> list[DeterminedColumn]:
    """The links parent column == `columns` of the first (last) row that hold for MIN_AGREEMENT
    of the parents with rows; at most one parent column per child column and row.

    parents: one row per parent, in the order parent_of_row counts; frame: the child rows ordered
    by parent, then position, aligned with parent_of_row.
    """
    if not len(frame) or not len(parents.columns) or not columns:
        return []
    starts = np.flatnonzero(np.r_[True, parent_of_row[1:] != parent_of_row[:-1]])
    if len(starts) < MIN_PARENTS:
        return []
    ends = np.r_[starts[1:] - 1, len(frame) - 1]
    owners = parent_of_row[starts]
    values = {str(c): parents[c].to_numpy(dtype=object)[owners] for c in parents.columns}
    found = []
    for row, at in zip(ROWS, (starts, ends), strict=True):
        for column in columns:
            link = _link(values, frame[column].to_numpy(dtype=object)[at])
            if link is not None:
                found.append(DeterminedColumn(link[0], column, row, link[1]))
    return found


def _link(parents: Mapping[str, np.ndarray], child: np.ndarray) -> tuple[str, float] | None:
    """The first parent column that `child` (one value per parent) follows, and its share."""
    for name, values in parents.items():
        if _agreement(values[:SCREEN_PARENTS], child[:SCREEN_PARENTS])[0] < SCREEN_AGREEMENT:
            continue
        share, agreeing = _agreement(values, child)
        if share >= MIN_AGREEMENT and agreeing >= MIN_PARENTS:
            return name, share
    return None


def _agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Share of the positions where a and b hold the same value (both empty included), and how
    many hold the same non-empty value."""
    codes, _ = pd.factorize(np.concatenate([a, b]))  # one code per value, -1 for empty
    left, right = codes[: len(a)], codes[len(a) :]
    same = left == right
    return float(same.mean()), int((same & (left >= 0)).sum())


def forced_codes(
    determined: Sequence[DeterminedColumn], rows: FlatGenerator, parents: pd.DataFrame | None
) -> list[ForcedColumn]:
    """Per link whose parent column was generated: the code each parent's row takes. A value
    outside the child's categories (rare, protected, unseen) or never drawn in training is left
    to the model."""
    if parents is None or not determined:
        return []
    index = {p.name: i for i, p in enumerate(rows.plans)}
    out = []
    for link in determined:
        if link.parent_column not in parents.columns or link.column not in index:
            continue
        values = pd.DataFrame({link.column: parents[link.parent_column].to_numpy()})
        fixed, _ = rows._fixed_codes(values, set())
        lo, _ = rows._sub_ranges[index[link.column]]
        codes = fixed[:, lo]
        keep = (codes != RARE_CODE) & rows.allowed[lo][codes]
        out.append(ForcedColumn(link.row, lo, np.where(keep, codes, -1)))
    # "first" rules last: in a sequence of one row the first row's rule wins
    return sorted(out, key=lambda f: f.row == "first")


def step_masks(
    forced: Sequence[ForcedColumn],
    step: int,
    active: np.ndarray,
    lengths: np.ndarray,
    allowed: Sequence[np.ndarray],
) -> dict[int, np.ndarray]:
    """Per forced sub-column, the codes each active sequence's row `step` may take: only its
    parent's where the row is the forced one, those of training elsewhere."""
    masks: dict[int, np.ndarray] = {}
    for f in forced:
        at = np.full(len(active), step == 0) if f.row == "first" else lengths[active] - 1 == step
        codes = f.codes[active]
        take = at & (codes >= 0)
        if not take.any():
            continue
        mask = masks.get(f.sub_column)
        if mask is None:
            mask = np.repeat(allowed[f.sub_column][None, :], len(active), axis=0)
        mask[take] = False
        mask[take, codes[take]] = True
        masks[f.sub_column] = mask
    return masks
