"""The contract every column encoder fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

# Value protection: a category, value or character seen in fewer rows than this is never emitted
# as such, and numeric / datetime ranges are cut at the k-th smallest and largest value. In a
# sequence table the count is of subjects, not rows (see `SUBJECTS`).
RARE_THRESHOLD = 5
RARE_TOKEN = "_RARE_"
# Analysis option: the subject of every row (e.g. the player of each season). One subject's many
# rows must not make its values common: a team only one player played for is rare however many
# seasons he spent there, and a range ends at the k-th most extreme subject, not row.
SUBJECTS = "subjects"


def occurrences(values: pd.Series, subjects: np.ndarray | None = None) -> pd.Series:
    """Count of every non-null value, most frequent first: rows, or distinct subjects when given."""
    if subjects is None:
        return values.dropna().value_counts(sort=True)
    pairs = pd.DataFrame({"value": values.to_numpy(), "subject": subjects}).dropna(subset=["value"])
    return pairs.drop_duplicates()["value"].value_counts(sort=True)


def frequent_counts(values: pd.Series, subjects: np.ndarray | None = None) -> pd.Series:
    """Row counts of the values that value protection keeps: held by RARE_THRESHOLD rows or more
    (with `subjects`: by that many distinct subjects), most frequent first."""
    counts = values.dropna().value_counts(sort=True)
    holders = counts if subjects is None else occurrences(values, subjects).reindex(counts.index).fillna(0)
    return counts[holders.to_numpy() >= RARE_THRESHOLD]


@dataclass(frozen=True)
class SubColumnSpec:
    """One discrete sub-column: the model predicts a value in range(cardinality)."""

    name: str
    cardinality: int


class ColumnEncoder(Protocol):
    """analyze -> stats (JSON-serialisable); encode -> int codes [n, k]; decode -> values."""

    def analyze(self, values: pd.Series, *, protect: bool, options: dict[str, Any]) -> dict[str, Any]: ...

    def sub_columns(self, stats: dict[str, Any]) -> list[SubColumnSpec]: ...

    def encode(self, values: pd.Series, stats: dict[str, Any]) -> np.ndarray: ...

    def decode(self, codes: np.ndarray, stats: dict[str, Any], rng: np.random.Generator) -> pd.Series: ...


def protected_bounds(
    values: np.ndarray, protect: bool, subjects: np.ndarray | None = None
) -> tuple[float, float]:
    """Range of values that may appear in the output.

    With protection on, the bounds are the RARE_THRESHOLD-th smallest and largest values (with
    `subjects`: of the subjects' smallest and largest values), so that no single record's extreme
    value can show up in synthetic data.
    """
    present = ~np.isnan(values)
    v = values[present]
    if len(v) == 0:
        return 0.0, 0.0
    if not protect:
        return float(v.min()), float(v.max())
    cut = kth_extremes(v, None if subjects is None else np.asarray(subjects)[present])
    if cut is None:
        mid = float(np.median(v))
        return mid, mid
    return float(cut[0]), float(cut[1])


def kth_extremes(present: np.ndarray, subjects: np.ndarray | None) -> tuple[Any, Any] | None:
    """The RARE_THRESHOLD-th smallest and largest of `present` (with `subjects`: of the subjects'
    smallest and largest values), in its own dtype; None when there are too few to cut."""
    lows = highs = np.sort(present)
    if subjects is not None:
        by_subject = pd.Series(present).groupby(subjects)
        lows, highs = np.sort(by_subject.min().to_numpy()), np.sort(by_subject.max().to_numpy())
    k = RARE_THRESHOLD
    if len(lows) < 2 * k:
        return None
    return lows[k - 1], highs[len(highs) - k]


def to_python(value: Any) -> Any:
    """numpy scalars -> plain Python scalars so that stats serialise to JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value
