"""TABULAR_LAT_LONG: "latitude, longitude" strings as two binned numbers."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import SUBJECTS, SubColumnSpec
from synth_dagster.engine.encoding.numeric import NumericEncoder, decimal_precision

LAT_LONG_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(,\s*)(-?\d+(?:\.\d+)?)\s*$")
_numeric = NumericEncoder()


def split_lat_long(values: pd.Series) -> tuple[pd.Series, pd.Series, str]:
    """(latitude, longitude, separator); values that do not parse become null."""
    parts = (
        values.astype("object")
        .where(values.notna(), None)
        .astype("str")
        .str.extract(LAT_LONG_PATTERN.pattern)
    )
    lat = pd.to_numeric(parts[0], errors="coerce")
    lon = pd.to_numeric(parts[2], errors="coerce")
    seps = parts[1].dropna()
    separator = str(seps.mode().iloc[0]) if len(seps) else ", "
    both = lat.notna() & lon.notna()
    return lat.where(both), lon.where(both), separator


class LatLongEncoder:
    def analyze(self, values: pd.Series, *, protect: bool, options: dict[str, Any]) -> dict[str, Any]:
        lat, lon, separator = split_lat_long(values)
        opts = {"encoding_type": "TABULAR_NUMERIC_BINNED", SUBJECTS: options.get(SUBJECTS)}
        present = lat.dropna().to_numpy(float)
        return {
            "lat": _numeric.analyze(lat, protect=protect, options=opts),
            "long": _numeric.analyze(lon, protect=protect, options=opts),
            "separator": separator,
            "precision": max(decimal_precision(present), decimal_precision(lon.dropna().to_numpy(float))),
        }

    def sub_columns(self, stats: dict[str, Any]) -> list[SubColumnSpec]:
        lat = [SubColumnSpec(f"lat_{s.name}", s.cardinality) for s in _numeric.sub_columns(stats["lat"])]
        lon = [SubColumnSpec(f"long_{s.name}", s.cardinality) for s in _numeric.sub_columns(stats["long"])]
        return lat + lon

    def encode(self, values: pd.Series, stats: dict[str, Any]) -> np.ndarray:
        lat, lon, _ = split_lat_long(values)
        return np.concatenate(
            [_numeric.encode(lat, stats["lat"]), _numeric.encode(lon, stats["long"])], axis=1
        )

    def decode(self, codes: np.ndarray, stats: dict[str, Any], rng: np.random.Generator) -> pd.Series:
        k = len(_numeric.sub_columns(stats["lat"]))
        lat = _numeric.decode(codes[:, :k], stats["lat"], rng).to_numpy()
        lon_codes = codes[:, k:].copy()
        lon_codes[:, 0] = np.maximum(lon_codes[:, 0], 1)  # longitude is null exactly when latitude is
        lon = _numeric.decode(lon_codes, stats["long"], rng).to_numpy()
        p = stats["precision"]
        text = pd.Series(
            [f"{a:.{p}f}{stats['separator']}{b:.{p}f}" for a, b in zip(lat, lon, strict=True)], dtype=object
        )
        text[np.isnan(lat)] = None
        return text
