"""Discretization used by the accuracy metrics.

- numeric and datetime columns: 10 quantile bins fitted on training ∪ holdout. Edges are the
  deciles (linear interpolation); duplicate edges collapse, so heavily tied columns get fewer bins.
  Bins are right-closed: bin 0 is (-inf, q10], bin k is (q_k, q_k+1], the last is (q90, +inf).
- categorical columns: the 10 most frequent training values held by at least PROTECTED_COUNT
  training records (ties broken by value), one "other" bin for everything else. Reports show bin
  labels, so a value of fewer records (an ID, a rare name) never appears in one.
- labels of numeric and datetime bins show their edges rounded (3 significant digits; datetimes to
  the day or hour), so an edge that happens to be one record's exact value is not
  printed as such.
- every column: one N/A bin, always last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_dagster.qa._prepare import ColumnKind, category_values, numeric_values

N_BINS = 10
N_TOP_CATEGORIES = 10
# As the engine's value protection: a category held by fewer training records is never a label.
PROTECTED_COUNT = 5
OTHER_LABEL = "(other)"
NA_LABEL = "(n/a)"


@dataclass(frozen=True)
class ColumnBins:
    name: str
    kind: ColumnKind
    edges: np.ndarray | None  # inner edges of numeric / datetime columns
    categories: tuple[str, ...] | None  # top values of categorical columns
    labels: tuple[str, ...]

    @property
    def short_labels(self) -> tuple[str, ...]:
        """Compact labels for crowded axes: a numeric bin by its upper edge, long names cut."""
        if self.kind == "categorical" or self.edges is None or len(self.labels) < 3:
            return tuple(lab if len(lab) <= 16 else lab[:15] + "…" for lab in self.labels)
        return tuple(
            "≤ " + lab.split(", ")[-1].rstrip("]") if lab.startswith("(") else lab for lab in self.labels
        )

    @property
    def n_codes(self) -> int:
        return len(self.labels)

    @property
    def na_code(self) -> int:
        return self.n_codes - 1

    def codes(self, series: pd.Series) -> np.ndarray:
        """Bin index of every value (int64)."""
        if self.kind == "categorical":
            assert self.categories is not None
            values = category_values(series)
            index = pd.Index(list(self.categories), dtype=object)
            out = index.get_indexer(pd.Series(values, dtype=object)).astype(np.int64)
            out[out < 0] = len(self.categories)  # not a top value: "other"
            out[pd.isna(values)] = self.na_code
            return out
        assert self.edges is not None
        x = numeric_values(series, self.kind)
        out = np.searchsorted(self.edges, x, side="left").astype(np.int64)
        out[np.isnan(x)] = self.na_code
        return out


def fit_column(name: str, kind: ColumnKind, training: pd.Series, holdout: pd.Series | None) -> ColumnBins:
    if kind == "categorical":
        counts = pd.Series(category_values(training)).dropna().value_counts()
        counts = counts[counts >= PROTECTED_COUNT]
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        top = tuple(str(v) for v, _ in ranked[:N_TOP_CATEGORIES])
        return ColumnBins(name, kind, None, top, (*top, OTHER_LABEL, NA_LABEL))
    parts = [numeric_values(training, kind)]
    if holdout is not None:
        parts.append(numeric_values(holdout, kind))
    ref = np.concatenate(parts)
    ref = ref[~np.isnan(ref)]
    if len(ref) == 0:
        edges = np.empty(0)
        labels: tuple[str, ...] = ("(all values)", NA_LABEL)
    else:
        deciles = np.quantile(ref, np.linspace(0.0, 1.0, N_BINS + 1))
        edges = np.unique(deciles[1:-1])
        bounds = [float(ref.min()), *edges.tolist(), float(ref.max())]
        labels = (*_interval_labels(bounds, kind), NA_LABEL)
    return ColumnBins(name, kind, edges, None, labels)


def _edge(value: float, kind: ColumnKind, significant: int = 3) -> str:
    """A bin edge for a label, rounded so that it is not one record's exact value."""
    if kind == "datetime":
        ts = pd.Timestamp(int(value))
        if ts == ts.normalize():
            return ts.strftime("%Y-%m-%d")
        return ts.round("h" if significant <= 3 else "min").strftime("%Y-%m-%d %H:%M")
    if value == 0 or not np.isfinite(value):
        return f"{value:g}"
    digits = significant - 1 - int(np.floor(np.log10(abs(value))))
    rounded = round(value, digits)
    return f"{rounded:,.{max(digits, 0)}f}" if abs(rounded) < 1e15 else f"{rounded:.3g}"


def _interval_labels(bounds: list[float], kind: ColumnKind) -> list[str]:
    """Labels of the bins between `bounds`: as coarse as possible while no two labels are equal."""
    for significant in (3, 4, 5, 6):
        labels = _labels_at(bounds, kind, significant)
        if len(set(labels)) == len(labels):
            return labels
    return labels


def _labels_at(bounds: list[float], kind: ColumnKind, significant: int) -> list[str]:
    # bounds = [min, e1, ..., ek, max]; k inner edges give k + 1 bins.
    edge = [_edge(v, kind, significant) for v in bounds]
    if len(bounds) <= 2:
        return [edge[0]]
    inner = [f"({lo}, {hi}]" for lo, hi in zip(edge[1:-2], edge[2:-1], strict=True)]
    return [f"≤ {edge[1]}", *inner, f"> {edge[-2]}"]


@dataclass(frozen=True)
class Binning:
    columns: dict[str, ColumnBins]

    def codes(self, df: pd.DataFrame) -> np.ndarray:
        """Matrix of bin codes, one column per binned column in `self.columns` order."""
        if not self.columns:
            return np.empty((len(df), 0), dtype=np.int64)
        return np.column_stack([b.codes(df[name]) for name, b in self.columns.items()])


def fit_binning(
    columns: list[str], kinds: dict[str, ColumnKind], training: pd.DataFrame, holdout: pd.DataFrame | None
) -> Binning:
    return Binning(
        {c: fit_column(c, kinds[c], training[c], None if holdout is None else holdout[c]) for c in columns}
    )
