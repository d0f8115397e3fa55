"""How a language column's values become text for the language model, and come back.

LANGUAGE_TEXT is free text. The other encodings are decoded under a grammar (llguidance regex), so
that every sampled string parses: LANGUAGE_CATEGORICAL writes one of the learned categories,
LANGUAGE_NUMERIC a number of the learned precision (then clipped into the protected range),
LANGUAGE_DATETIME a calendar-valid date (and time) of the learned format (then clipped into range).
With value protection, categories of fewer than `min_records` records are not learned and the
range ends are the `min_records`-th smallest and largest values, not a single record's extremes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

TEXT, CATEGORICAL, NUMERIC, DATETIME = (
    "LANGUAGE_TEXT",
    "LANGUAGE_CATEGORICAL",
    "LANGUAGE_NUMERIC",
    "LANGUAGE_DATETIME",
)
ENCODINGS = (TEXT, CATEGORICAL, NUMERIC, DATETIME)
MAX_DECIMALS = 8
_MONTHS_31 = "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
_MONTHS_30 = "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
_FEBRUARY = "02-(?:0[1-9]|1[0-9]|2[0-8])"  # no 29th: the grammar stays regular and never invalid
_MONTH_DAY = rf"-(?:{_MONTHS_31}|{_MONTHS_30}|{_FEBRUARY})"
_TIME = r" (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"


@dataclass(frozen=True)
class ColumnFormat:
    """What one language column learned of its values (saved as JSON)."""

    name: str
    encoding: str
    categories: list[str] = field(default_factory=list)
    low: float | None = None
    high: float | None = None
    decimals: int = 0
    has_time: bool = False
    integer: bool = False
    nullable: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnFormat:
        return cls(**data)

    @property
    def constrained(self) -> bool:
        return self.encoding != TEXT

    def texts(self, values: pd.Series) -> list[str | None]:
        """The training text of each value (None for a missing value)."""
        if self.encoding == NUMERIC:
            numbers = pd.to_numeric(values, errors="coerce")
            return [None if pd.isna(v) else f"{float(v):.{self.decimals}f}" for v in numbers]
        if self.encoding == DATETIME:
            stamps = pd.to_datetime(values, errors="coerce", utc=False, format="mixed")
            fmt = "%Y-%m-%d %H:%M:%S" if self.has_time else "%Y-%m-%d"
            return [None if pd.isna(v) else v.strftime(fmt) for v in stamps]
        if self.encoding == CATEGORICAL:
            known = set(self.categories)
            return [None if pd.isna(v) or str(v) not in known else str(v) for v in values]
        return [None if pd.isna(v) else str(v) for v in values]

    def grammar(self) -> str | None:
        """The regex every sampled value of this column matches (None: free text)."""
        if self.encoding == CATEGORICAL:
            return "(?:" + "|".join(re.escape(c) for c in self.categories) + ")"
        if self.encoding == NUMERIC:
            digits = len(str(int(max(abs(self.low or 0.0), abs(self.high or 0.0))))) + 1
            sign = "-?" if (self.low or 0.0) < 0 else ""
            fraction = rf"\.[0-9]{{{self.decimals}}}" if self.decimals else ""
            return rf"{sign}(?:0|[1-9][0-9]{{0,{digits - 1}}}){fraction}"
        if self.encoding == DATETIME:
            years = range(self.timestamp(self.low).year, self.timestamp(self.high).year + 1)
            return (
                "(?:"
                + "|".join(f"{y:04d}" for y in years)
                + ")"
                + _MONTH_DAY
                + (_TIME if self.has_time else "")
            )
        return None

    @staticmethod
    def timestamp(nanos: float | None) -> pd.Timestamp:
        return pd.Timestamp(int(nanos or 0))

    def values(self, texts: list[str | None]) -> pd.Series:
        """The column's values from sampled texts (constrained texts always parse)."""
        if self.encoding == NUMERIC:
            numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").astype(float)
            numbers = numbers.clip(self.low, self.high).round(self.decimals)
            return numbers.astype("Int64") if self.integer else numbers
        if self.encoding == DATETIME:
            stamps = pd.to_datetime(pd.Series(texts, dtype=object), errors="coerce", format="mixed")
            return stamps.clip(self.timestamp(self.low), self.timestamp(self.high))
        return pd.Series(texts, dtype=object)


def learn_format(name: str, encoding: str, values: pd.Series, min_records: int) -> ColumnFormat:
    """A column's format from its training values; `min_records` is value protection's k."""
    fmt = _learn(name, encoding, values, min_records)
    return replace(fmt, nullable=bool(values.isna().any()))


def _learn(name: str, encoding: str, values: pd.Series, min_records: int) -> ColumnFormat:
    present = values.dropna()
    if encoding == CATEGORICAL:
        counts = present.astype(str).value_counts()
        categories = sorted(counts[counts >= min_records].index.tolist())
        return ColumnFormat(name, encoding, categories=categories or sorted(counts.index[:1].tolist()))
    if encoding == NUMERIC:
        numbers = pd.to_numeric(present, errors="coerce").dropna().astype(float)
        low, high = _range(numbers.to_numpy(), min_records)
        return ColumnFormat(
            name, encoding, low=low, high=high, decimals=_decimals(numbers), integer=_is_integer(values)
        )
    if encoding == DATETIME:
        stamps = pd.to_datetime(present, errors="coerce", format="mixed").dropna()
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
        nanos = stamps.astype("datetime64[ns]").astype("int64").to_numpy(dtype=np.float64)
        low, high = _range(nanos, min_records)
        has_time = bool((stamps != stamps.dt.normalize()).any())
        return ColumnFormat(name, encoding, low=low, high=high, has_time=has_time)
    return ColumnFormat(name, TEXT)


def _range(values: np.ndarray, min_records: int) -> tuple[float, float]:
    if not len(values):
        return 0.0, 0.0
    ordered = np.sort(values)
    k = min(max(min_records, 1), len(ordered)) - 1
    return float(ordered[k]), float(ordered[len(ordered) - 1 - k])


def _decimals(numbers: pd.Series) -> int:
    for decimals in range(MAX_DECIMALS + 1):
        if np.allclose(numbers.to_numpy(), numbers.round(decimals).to_numpy(), rtol=0, atol=1e-9):
            return decimals
    return MAX_DECIMALS


def _is_integer(values: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(values.dtype)
