"""DP value protection: rare-category thresholds and value ranges chosen by DP mechanisms.

With differential privacy on, `value_protection_epsilon` is split equally between the columns of
a table (and its rising sequence columns); each column's analysis spends its share once:

- categories: a stability-based histogram. Every record (or subject: a subject's weight is spread
  over the values it holds, so its counts add up to 1) adds to the counts of its values; Laplace
  noise of scale 1/ε goes on every count, and a category is kept when its noisy count reaches
  max(RARE_THRESHOLD, 1 + ln(1 / (2δ)) / ε). A category held by one record then shows with
  probability below δ, which is what the column's share of the analysis δ pays for. The noisy
  counts, not the true ones, become the category frequencies the encoder keeps.
- numbers and datetimes: the range ends at noisy histograms over a grid fixed in advance (numbers:
  ±2^(k/2), half an octave; datetimes: calendar months), one of the records' (subjects')
  smallest values and one of their largest, ε/2 each. The lower bound is the lower edge of the
  first bucket whose noisy count reaches max(RARE_THRESHOLD, ln(10 · buckets) / ε') (so that an
  empty bucket passes with probability below 1/10 in all), the upper bound likewise from the top;
  an end where no bucket passes is 0.

The noise is numpy's, drawn from a generator seeded by `random_state` and the column's name: the
mechanisms of opendp draw from the operating system and cannot be seeded, and a seeded run must
give the same generator twice (see DESIGN.md).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import RARE_THRESHOLD

# analysis option: the column's ValueBudget when differential privacy is on
DP_BUDGET = "dp_budget"
FALSE_BUCKETS = 0.1  # chance that any empty bucket of a range grid passes its threshold
_NUMBER_GRID: np.ndarray | None = None


@dataclass(frozen=True)
class ValueBudget:
    """One column's share of the value-protection budget, and the seed of its noise."""

    epsilon: float
    delta: float
    seed: int

    def rng(self, salt: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(salt.encode())])


def column_budgets(
    names: list[str], epsilon: float | None, delta: float, seed: int
) -> dict[str, ValueBudget]:
    """Equal shares of (ε, δ) for every column; empty when there is no value-protection budget."""
    if not epsilon or not names:
        return {}
    share = ValueBudget(epsilon / len(names), delta / len(names), seed)
    return {n: share for n in names}


def category_threshold(epsilon: float, delta: float) -> float:
    return max(float(RARE_THRESHOLD), 1.0 + math.log(1.0 / (2.0 * delta)) / epsilon)


def dp_frequent_counts(
    values: pd.Series, subjects: np.ndarray | None, budget: ValueBudget, salt: str = "categories"
) -> pd.Series:
    """Noisy counts of the categories that the stability histogram keeps, most frequent first."""
    present = values.notna().to_numpy()
    if subjects is None:
        counts = values.dropna().value_counts(sort=False).astype(float)
    else:
        pairs = pd.DataFrame({"v": values.to_numpy()[present], "s": np.asarray(subjects)[present]})
        pairs = pairs.drop_duplicates()
        weight = 1.0 / pairs.groupby("s")["v"].transform("size")
        counts = weight.groupby(pairs["v"].to_numpy()).sum()
    rng = budget.rng(salt)
    noisy = counts + rng.laplace(0.0, 1.0 / budget.epsilon, len(counts))
    kept = noisy[noisy.to_numpy() >= category_threshold(budget.epsilon, budget.delta)]
    return kept.round().clip(lower=1).astype(int).sort_values(ascending=False, kind="stable")


def number_grid() -> np.ndarray:
    """Bucket edges for numbers: 0 and ±2^(k/2) for k/2 in [-30, 62]."""
    global _NUMBER_GRID
    if _NUMBER_GRID is None:
        powers = 2.0 ** (np.arange(-60, 125) / 2.0)
        _NUMBER_GRID = np.concatenate([-powers[::-1], [0.0], powers])
    return _NUMBER_GRID


def month_grid() -> np.ndarray:
    """Bucket edges for datetimes (int64 nanoseconds): the first of every month, 1678 to 2262."""
    months = pd.date_range("1677-10-01", "2262-04-01", freq="MS")
    return months.asi8.astype(np.float64)


def _noisy_edge(
    points: np.ndarray, edges: np.ndarray, epsilon: float, rng: np.random.Generator, low: bool
) -> float | None:
    bucket = np.clip(np.searchsorted(edges, points, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(bucket, minlength=len(edges) - 1).astype(float)
    noisy = counts + rng.laplace(0.0, 1.0 / epsilon, len(counts))
    threshold = max(float(RARE_THRESHOLD), math.log(len(counts) / FALSE_BUCKETS) / epsilon)
    passing = np.flatnonzero(noisy >= threshold)
    if not len(passing):
        return None
    return float(edges[passing[0]] if low else edges[passing[-1] + 1])


def dp_bounds(
    values: np.ndarray,
    subjects: np.ndarray | None,
    budget: ValueBudget,
    grid: np.ndarray | None = None,
    salt: str = "range",
) -> tuple[float, float]:
    """A DP range of `values` (NaN: missing) on `grid` (default: the number grid): ε/2 each end."""
    edges = number_grid() if grid is None else grid
    present = ~np.isnan(values)
    v = values[present]
    lows = highs = v
    if subjects is not None and len(v):
        by_subject = pd.Series(v).groupby(np.asarray(subjects)[present])
        lows, highs = by_subject.min().to_numpy(), by_subject.max().to_numpy()
    rng = budget.rng(salt)
    lo = _noisy_edge(lows, edges, budget.epsilon / 2, rng, low=True)
    hi = _noisy_edge(highs, edges, budget.epsilon / 2, rng, low=False)
    # an end with no bucket that passes falls back to 0, which says nothing about the data
    lo, hi = 0.0 if lo is None else lo, 0.0 if hi is None else hi
    return (lo, hi) if lo <= hi else (hi, lo)


def dp_int_bounds(
    ns: np.ndarray, null: np.ndarray, subjects: np.ndarray | None, budget: ValueBudget
) -> tuple[int, int]:
    """`dp_bounds` of int64 nanoseconds on the month grid."""
    values = np.where(null, np.nan, ns.astype(np.float64))
    lo, hi = dp_bounds(values, subjects, budget, month_grid(), salt="datetime range")
    return int(lo), int(hi)


def value_protection_spent(dp: Any) -> float:
    """The value-protection ε a table's analysis spends (all of its budget: every column has a share)."""
    return float(dp.value_protection_epsilon or 0.0) if dp is not None else 0.0
