"""The contract every column encoder fulfils."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

# Value protection: a category, value or character seen in fewer rows than this is never emitted
# as such, and numeric / datetime ranges are cut at the k-th smallest and largest value.
RARE_THRESHOLD = 5
RARE_TOKEN = "_RARE_"


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


def protected_bounds(values: np.ndarray, protect: bool) -> tuple[float, float]:
    """Range of values that may appear in the output.

    With protection on, the bounds are the RARE_THRESHOLD-th smallest and largest values, so that no
    single record's extreme value can show up in synthetic data.
    """
    v = np.sort(values[~np.isnan(values)])
    if len(v) == 0:
        return 0.0, 0.0
    if not protect:
        return float(v[0]), float(v[-1])
    k = RARE_THRESHOLD
    if len(v) < 2 * k:
        mid = float(np.median(v))
        return mid, mid
    return float(v[k - 1]), float(v[len(v) - k])


def to_python(value: Any) -> Any:
    """numpy scalars -> plain Python scalars so that stats serialise to JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value
