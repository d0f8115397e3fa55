"""Relative columns of sequences: TABULAR_DATETIME_RELATIVE columns and rising numbers are modelled
as the first value of a sequence plus the gaps between consecutive rows, so that generated
sequences never go back. `relative_forward` turns values into anchors and gaps before encoding,
`relative_inverse` accumulates drawn gaps back into values."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from synth_dagster.engine.errors import EngineInputError

GAP_SUFFIX = "::gap"
# a rising column's value in the previous row: the absolute value the other columns see
LAST_SUFFIX = "::last"


def rising_columns(
    frame: pd.DataFrame,
    parent_of_row: np.ndarray,
    encoding_types: Mapping[str, str],
    excluded: Collection[str] = (),
) -> dict[str, str]:
    """Numeric columns (AUTO encoding, no empty values) that never fall within a training sequence
    and rise in some, with their dtypes: a year of a career, a running total, a version number.
    `excluded`: columns left absolute (those a constraint names).

    They are modelled like TABULAR_DATETIME_RELATIVE columns, as a first value plus the gaps, so
    that generated sequences never go back. As absolute values the model learns "the next year is
    this one or the one after" poorly: on plyr/baseball 15% of generated seasons went back in time.
    """
    same = parent_of_row[1:] == parent_of_row[:-1] if len(frame) > 1 else np.zeros(0, dtype=bool)
    if not same.any():
        return {}
    found = {}
    for column in frame.columns:
        values = frame[column]
        if column in encoding_types or column in excluded or str(column).startswith("__"):
            continue  # an encoding chosen by the user, a constraint's column, an engine helper
        if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
            continue
        if values.isna().any():
            continue
        steps = np.diff(values.to_numpy(dtype=np.float64))[same]
        if (steps >= 0).all() and (steps > 0).any():
            found[str(column)] = str(values.dtype)
    return found


def relative_forward(
    frame: pd.DataFrame, parent_of_row: np.ndarray, columns: list[str], numeric: Collection[str] = ()
) -> pd.DataFrame:
    """Each relative column becomes its first value per sequence and the gaps: in seconds for
    datetimes, in the column's unit for the `numeric` ones."""
    frame = frame.copy()
    keys = pd.Series(parent_of_row, index=frame.index)
    for column in columns:
        is_number = column in numeric
        values = (
            pd.to_numeric(frame[column], errors="coerce").astype("float64")
            if is_number
            else as_datetime(frame[column], column)
        )
        previous = values.groupby(keys).ffill().groupby(keys).shift(1)
        gaps = values - previous
        position = frame.columns.get_loc(column)
        frame[column] = values.where(previous.isna())
        frame.insert(position + 1, column + GAP_SUFFIX, gaps if is_number else gaps.dt.total_seconds())
        if is_number:  # first: every column of the row, the gap included, is drawn seeing it
            frame.insert(position, column + LAST_SUFFIX, previous)
    return frame


def relative_inverse(
    frame: pd.DataFrame,
    parent_of_row: np.ndarray,
    columns: list[str],
    fixed: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Back from first values and gaps to datetimes, accumulating gaps within each sequence.

    `fixed` holds exact values (seeded rows) per column, NaT elsewhere; later gaps build on them.
    """
    frame = frame.copy()
    for column in columns:
        exact = (fixed or {}).get(column)
        anchors = pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[ns]")
        gaps = pd.to_numeric(frame.pop(column + GAP_SUFFIX), errors="coerce").to_numpy(dtype=float)
        out = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
        last, last_parent = np.datetime64("NaT"), -1
        for i in range(len(frame)):
            if parent_of_row[i] != last_parent:
                last, last_parent = np.datetime64("NaT"), parent_of_row[i]
            if exact is not None and not np.isnat(exact[i]):
                out[i] = exact[i]
            elif np.isnat(last):
                out[i] = anchors[i]  # the first value of a sequence is absolute
            elif not math.isnan(gaps[i]):
                out[i] = last + np.timedelta64(int(round(gaps[i] * 1e9)), "ns")
            elif not np.isnat(anchors[i]):
                # a rare slip of the model (an absolute value after the first): keep the order
                out[i] = max(anchors[i], last)
            if not np.isnat(out[i]):
                last = out[i]
        frame[column] = pd.Series(out, index=frame.index)
    return frame


def as_source_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """Accumulated numbers back in their source dtype (integers rounded; nullable if empty)."""
    if not pd.api.types.is_integer_dtype(pd.api.types.pandas_dtype(dtype)):
        return values.astype(dtype)
    rounded = values.round()
    return rounded.astype(dtype) if rounded.notna().all() else rounded.astype("Int64")


def as_datetime(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dtype, "tz", None) is not None:
            return values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values
    try:
        return pd.to_datetime(values)
    except (TypeError, ValueError) as exc:
        raise EngineInputError(
            f"column {column!r} is set to TABULAR_DATETIME_RELATIVE but its values are not datetimes "
            f"({exc}); convert it with pd.to_datetime or choose another encoding"
        ) from exc
