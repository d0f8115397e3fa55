"""Checks of a training table before anything is learned from it, each with the fix in its message.

Used by `train_generator` and, to fail before a job is queued, by the client when a table is given
as a DataFrame.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_dagster.engine.errors import EngineInputError

_SCAN_ROWS = 10_000  # object columns are checked for bytes values on their first rows


def check_training_frame(name: str, frame: object, keys: Collection[str] = ()) -> None:
    """EngineInputError for a table the engine cannot learn: not a DataFrame, no rows, no columns,
    duplicated column names, columns (other than the key columns `keys`) without any value,
    infinite numbers, raw bytes."""
    where = f"table {name!r}"
    if not isinstance(frame, pd.DataFrame):
        raise EngineInputError(f"{where}: data must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise EngineInputError(
            f"{where} has no columns ({len(frame)} rows of nothing); give it at least one column to learn"
        )
    if len(frame) == 0:
        raise EngineInputError(f"{where} is empty (0 rows); a generator needs rows to learn from")
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise EngineInputError(
            f"{where}: column names must be unique, but {duplicated} occur more than once; rename them"
        )
    for column in frame.columns:
        _check_column(where, str(column), frame[column], str(column) in keys)


def _check_column(where: str, column: str, values: pd.Series, is_key: bool) -> None:
    if not is_key and values.isna().all():
        raise EngineInputError(
            f"{where}: column {column!r} holds only empty values, so nothing can be learned from it; "
            "drop the column or give it values"
        )
    if ptypes.is_float_dtype(values.dtype):
        infinite = int(np.isinf(values.to_numpy(dtype="float64", na_value=np.nan)).sum())
        if infinite:
            raise EngineInputError(
                f"{where}: column {column!r} holds {infinite} infinite values (inf / -inf); replace them, "
                f"e.g. df[{column!r}] = df[{column!r}].replace([np.inf, -np.inf], np.nan)"
            )
    elif ptypes.is_object_dtype(values.dtype):
        head = values.head(_SCAN_ROWS)
        if head.map(lambda v: isinstance(v, bytes | bytearray | memoryview)).any():
            raise EngineInputError(
                f"{where}: column {column!r} holds raw bytes, which cannot be learned as text or numbers; "
                f"decode them (df[{column!r}] = df[{column!r}].str.decode('utf-8')) or drop the column"
            )
