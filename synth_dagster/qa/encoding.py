"""Numeric encoding of records for the distance and similarity metrics.

- numeric and datetime columns: the value's position on training ∪ holdout's percentile curve
  (101 percentiles, linear in between), so a column spans [0, 1] whatever its unit; plus a 0/1
  missing flag (the position is 0 when missing).
- categorical columns: one-hot over the binning's top values + "other" + N/A, scaled by 1/sqrt(2)
  so that two different categories are exactly 1 apart, like the two ends of a numeric column.

For sequences a record is a whole group: its context columns, the mean of its rows' encodings and
its length on the training percentile curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_dagster.qa._prepare import FrameName, Prepared, category_values, numeric_values
from synth_dagster.qa.binning import Binning

N_PERCENTILES = 101
ONE_HOT_SCALE = 1.0 / np.sqrt(2.0)


def _percentile_curve(values: np.ndarray) -> np.ndarray:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return np.zeros(N_PERCENTILES)
    return np.quantile(values, np.linspace(0.0, 1.0, N_PERCENTILES))


def percentile_position(x: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """Position of x on a percentile curve, in [0, 1]; NaN stays NaN."""
    return np.interp(x, curve, np.linspace(0.0, 1.0, len(curve)))


@dataclass(frozen=True)
class RecordEncoder:
    binning: Binning
    target_columns: list[str]
    context_columns: list[str]
    curves: dict[str, np.ndarray]
    length_curve: np.ndarray | None

    @classmethod
    def fit(cls, prep: Prepared, binning: Binning) -> RecordEncoder:
        curves = {}
        for c in prep.columns:
            if prep.kinds[c] == "categorical":
                continue
            parts = [
                numeric_values(prep.frames[n][c], prep.kinds[c])
                for n in ("training", "holdout")
                if prep.has(n)
            ]
            curves[c] = _percentile_curve(np.concatenate(parts))
        length_curve = None
        g = prep.groups["training"]
        if g is not None:
            length_curve = _percentile_curve(np.bincount(g)[np.unique(g)].astype(np.float64))
        return cls(binning, prep.target_columns, prep.context_columns, curves, length_curve)

    def _columns(self, df: pd.DataFrame, columns: list[str]) -> np.ndarray:
        blocks = [np.empty((len(df), 0))]
        for c in columns:
            bins = self.binning.columns[c]
            if bins.kind == "categorical":
                one_hot = np.zeros((len(df), bins.n_codes))
                one_hot[np.arange(len(df)), bins.codes(df[c])] = ONE_HOT_SCALE
                blocks.append(one_hot)
            else:
                x = numeric_values(df[c], bins.kind)
                missing = np.isnan(x)
                pos = np.where(missing, 0.0, percentile_position(x, self.curves[c]))
                blocks.append(np.column_stack([pos, missing.astype(np.float64)]))
        return np.hstack(blocks)

    def encode(self, prep: Prepared, name: FrameName) -> np.ndarray:
        """One row per record (row, or group for sequences), float64."""
        df = prep.frames[name]
        groups = prep.groups[name]
        if groups is None:
            return self._columns(df, self.target_columns + self.context_columns)
        assert self.length_curve is not None
        uniq, first, lengths = np.unique(groups, return_index=True, return_counts=True)
        rows = self._columns(df, self.target_columns)
        inverse = np.searchsorted(uniq, groups)
        sums = np.zeros((len(uniq), rows.shape[1]))
        np.add.at(sums, inverse, rows)
        means = sums / lengths[:, None]
        ctx = self._columns(df.iloc[first], self.context_columns)
        length = percentile_position(lengths.astype(np.float64), self.length_curve)[:, None]
        return np.hstack([ctx, means, length])


def record_hashes(prep: Prepared, name: FrameName) -> np.ndarray:
    """A 64-bit hash per record of its normalized values: equal records, equal hashes."""
    df = prep.frames[name]
    norm = pd.DataFrame(
        {
            c: (
                category_values(df[c])
                if prep.kinds[c] == "categorical"
                else numeric_values(df[c], prep.kinds[c])
            )
            for c in prep.columns
        }
    )
    rows = pd.util.hash_pandas_object(norm, index=False).to_numpy()
    groups = prep.groups[name]
    if groups is None:
        return rows
    # A sequence is identical only if all its rows are, in the same order.
    frame = pd.DataFrame({"g": groups, "h": rows})
    return (
        frame.groupby("g", sort=True)["h"]
        .agg(lambda h: hash(tuple(h.tolist())) & 0xFFFFFFFFFFFFFFFF)
        .to_numpy(dtype=np.uint64)
    )


def record_texts(prep: Prepared, name: FrameName) -> list[str]:
    """Records as text for an external sentence-embedding model; a group's rows are joined."""
    df = prep.frames[name]
    cols = prep.columns
    values = df[cols].astype(object).where(df[cols].notna(), "").astype(str).to_numpy()
    rows = [", ".join(f"{c}: {v}" for c, v in zip(cols, row, strict=True)) for row in values]
    groups = prep.groups[name]
    if groups is None:
        return rows
    out: dict[int, list[str]] = {}
    for g, text in zip(groups.tolist(), rows, strict=True):
        out.setdefault(g, []).append(text)
    return [" | ".join(out[g]) for g in sorted(out)]
