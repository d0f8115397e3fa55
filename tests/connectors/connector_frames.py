"""Test frames: every type the connectors promise to carry through a write and a read."""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd


def typed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "int": np.array([1, -2, 2**40], dtype="int64"),
            "nullable_int": pd.array([7, None, -3], dtype="Int64"),
            "float": [1.5, np.nan, -2.25e10],
            "decimal": [decimal.Decimal("1.23"), None, decimal.Decimal("-99999.01")],
            "bool": [True, False, True],
            "nullable_bool": pd.array([True, None, False], dtype="boolean"),
            "date": [dt.date(2020, 1, 1), None, dt.date(1900, 12, 31)],
            "timestamp": pd.to_datetime(
                ["2020-01-01 10:00:00.123456", None, "1999-12-31 23:59:59.000001"], format="ISO8601"
            ),
            "timestamp_tz": pd.to_datetime(["2020-01-01 10:00:00", None, "2021-06-01 00:00:01"]).tz_localize(
                "Europe/Vienna"
            ),
            "text": ["héllo wörld", None, "日本語 🎉 tab\there\nnewline \\N 'quote' \"dq\""],
            "all_null": pd.Series([None, None, None], dtype="str"),
        }
    )


def expected_back(df: pd.DataFrame) -> pd.DataFrame:
    """What a typed read returns: microsecond timestamps, time-zone-aware ones in UTC."""
    out = df.copy()
    out["timestamp"] = out["timestamp"].astype("datetime64[us]")
    out["timestamp_tz"] = out["timestamp_tz"].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return out


def id_frame(n: int, start: int = 0) -> pd.DataFrame:
    ids = np.arange(start, start + n, dtype="int64")
    return pd.DataFrame({"id": ids, "label": pd.Series([f"row-{i}" for i in ids], dtype="str")})
