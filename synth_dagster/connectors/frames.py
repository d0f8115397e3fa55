"""DataFrame <-> database value conversion shared by every connector family.

Each column is described by a ColumnSpec (a kind plus nullability and time zone). Readers decide a
column's pandas dtype from the *schema*, never from the values of one chunk, so that every chunk of
`read_data_chunks` has the same dtypes:

| kind     | not nullable | nullable                | notes                                        |
| -------- | ------------ | ----------------------- | -------------------------------------------- |
| int      | int64        | Int64                   |                                              |
| bool     | bool         | boolean                 |                                              |
| float    | float64      | float64                 | NULL <-> NaN                                 |
| decimal  | object       | object                  | decimal.Decimal values                       |
| date     | object       | object                  | datetime.date values                         |
| datetime | datetime64[us] or datetime64[us, UTC]  | time-zone-aware values come back in UTC      |
| string   | str          | str                     | pandas' default string dtype                 |
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

DEFAULT_CHUNK_SIZE = 50_000

KINDS = ("int", "float", "decimal", "bool", "date", "datetime", "time", "string", "bytes", "other")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str
    nullable: bool = True
    tz: bool = False  # datetime only: time-zone aware
    scale: int | None = None  # decimal only: digits after the point (None: unknown)
    source_type: str = ""  # the type as the source names it, for schema()

    @property
    def dtype(self) -> str:
        return dtype_of(self)

    def as_schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.source_type or self.kind,
            "nullable": self.nullable,
            "dtype": self.dtype,
        }


def dtype_of(spec: ColumnSpec) -> str:
    """The pandas dtype a reader produces for a column."""
    if spec.kind == "int":
        return "Int64" if spec.nullable else "int64"
    if spec.kind == "bool":
        return "boolean" if spec.nullable else "bool"
    if spec.kind == "float":
        return "float64"
    if spec.kind == "datetime":
        return "datetime64[us, UTC]" if spec.tz else "datetime64[us]"
    if spec.kind == "string":
        return "str"
    return "object"


# ---------------------------------------------------------------- writing side: frame -> specs/values


def spec_of_series(name: str, series: pd.Series) -> ColumnSpec:
    """Describe a column of a frame about to be written."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return spec_of_series(name, series.astype(dtype.categories.dtype))
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnSpec(name, "bool", nullable=not isinstance(dtype, np.dtype))
    if pd.api.types.is_integer_dtype(dtype):
        return ColumnSpec(name, "int", nullable=not isinstance(dtype, np.dtype))
    if pd.api.types.is_float_dtype(dtype):
        return ColumnSpec(name, "float")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return ColumnSpec(name, "datetime", tz=True)
    if pd.api.types.is_datetime64_dtype(dtype):
        return ColumnSpec(name, "datetime")
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return ColumnSpec(name, "string")
    if isinstance(dtype, pd.ArrowDtype):
        return _spec_of_arrow(name, dtype.pyarrow_dtype)
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "decimal":
        return ColumnSpec(name, "decimal", scale=_max_scale(series))
    if inferred == "date":
        return ColumnSpec(name, "date")
    if inferred == "datetime":
        aware = any(getattr(v, "tzinfo", None) is not None for v in series.dropna().head(100))
        return ColumnSpec(name, "datetime", tz=aware)
    if inferred == "time":
        return ColumnSpec(name, "time")
    if inferred == "boolean":
        return ColumnSpec(name, "bool")
    if inferred == "integer":
        return ColumnSpec(name, "int")
    if inferred in ("floating", "mixed-integer-float"):
        return ColumnSpec(name, "float")
    if inferred == "bytes":
        return ColumnSpec(name, "bytes")
    # strings, empty columns and anything mixed are written as text
    return ColumnSpec(name, "string")


def _spec_of_arrow(name: str, typ: pa.DataType) -> ColumnSpec:
    if pa.types.is_integer(typ):
        return ColumnSpec(name, "int")
    if pa.types.is_floating(typ):
        return ColumnSpec(name, "float")
    if pa.types.is_boolean(typ):
        return ColumnSpec(name, "bool")
    if pa.types.is_decimal(typ):
        return ColumnSpec(name, "decimal", scale=typ.scale)
    if pa.types.is_date(typ):
        return ColumnSpec(name, "date")
    if pa.types.is_timestamp(typ):
        return ColumnSpec(name, "datetime", tz=typ.tz is not None)
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        return ColumnSpec(name, "bytes")
    return ColumnSpec(name, "string")


def _max_scale(series: pd.Series) -> int:
    scale = 0
    for value in series.dropna().head(1000):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int):
            scale = max(scale, -exponent)
    return scale


def specs_of_frame(df: pd.DataFrame) -> list[ColumnSpec]:
    if df.columns.has_duplicates:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ValueError(f"cannot write a frame with duplicate column names: {dupes}")
    if len(df.columns) == 0:
        raise ValueError("cannot write a frame without columns")
    return [spec_of_series(str(name), df[name]) for name in df.columns]


def python_values(series: pd.Series, spec: ColumnSpec, *, utc_naive: bool = False) -> list[Any]:
    """Plain Python values for a driver: None for missing, datetimes as `datetime`.

    `utc_naive`: convert aware timestamps to naive UTC (for databases without a time-zone type).
    """
    if spec.kind == "datetime":
        values = pd.to_datetime(series, utc=spec.tz) if not _is_datetime(series) else series
        if spec.tz and utc_naive:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        mask = values.isna().to_numpy()
        stamps = values.dt.to_pydatetime() if hasattr(values.dt, "to_pydatetime") else values
        out = list(np.asarray(stamps, dtype=object))
        return [None if m else v for v, m in zip(out, mask, strict=True)]
    if spec.kind in ("int", "bool") and isinstance(series.dtype, np.dtype) and series.dtype != object:
        return series.tolist()
    if spec.kind == "float":
        arr = series.to_numpy(dtype="float64", na_value=np.nan)
        return [None if v != v else v for v in arr.tolist()]
    if spec.kind == "string":
        return [None if _missing(v) else (v if isinstance(v, str) else str(v)) for v in series.tolist()]
    return [None if _missing(v) else v for v in series.astype(object).tolist()]


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def iter_frames(data: pd.DataFrame | Iterable[pd.DataFrame], chunk_size: int) -> Iterator[pd.DataFrame]:
    """Slice a frame (or each frame of an iterable) into chunks of at most `chunk_size` rows."""
    frames = [data] if isinstance(data, pd.DataFrame) else data
    for frame in frames:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"expected pandas DataFrames, got {type(frame).__name__}")
        if len(frame) <= chunk_size:
            yield frame
            continue
        for start in range(0, len(frame), chunk_size):
            yield frame.iloc[start : start + chunk_size]


def rechunk(
    frames: Iterable[pd.DataFrame], chunk_size: int, specs: list[ColumnSpec]
) -> Iterator[pd.DataFrame]:
    """The rows of `frames` as chunks of at least `chunk_size` rows (the last one may be smaller),
    so that drivers' small batches reach callers at the size they asked for; one empty frame of the
    schema when there are no rows at all (a reader always yields at least one frame)."""
    pending: list[pd.DataFrame] = []
    size = 0
    produced = False
    for frame in frames:
        if not len(frame):
            continue
        pending.append(frame)
        size += len(frame)
        if size >= chunk_size:
            produced = True
            yield pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
            pending, size = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
    elif not produced:
        yield empty_frame(specs)


# ---------------------------------------------------------------- reading side: values -> frame


def column_from_values(values: list[Any], spec: ColumnSpec) -> pd.Series:
    """Build one column of a chunk from driver values, with the dtype the spec prescribes."""
    kind = spec.kind
    if kind == "int":
        try:
            arr = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        except (OverflowError, TypeError):
            return pd.Series(values, dtype=object)  # beyond int64, e.g. NUMBER(38, 0): keep Python ints
        return _not_null(pd.Series(arr), spec, "int64")
    if kind == "bool":
        arr = pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
        return _not_null(pd.Series(arr), spec, "bool")
    if kind == "float":
        return pd.Series(np.array([np.nan if v is None else float(v) for v in values], dtype="float64"))
    if kind == "datetime":
        return datetime_series(values, spec.tz)
    if kind == "string":
        return pd.Series([v if v is None or isinstance(v, str) else str(v) for v in values], dtype="str")
    if kind == "decimal":
        return pd.Series([None if v is None else _decimal(v) for v in values], dtype=object)
    if kind == "date":
        return pd.Series([_date(v) for v in values], dtype=object)
    return pd.Series(values, dtype=object)


def _not_null(series: pd.Series, spec: ColumnSpec, dtype: str) -> pd.Series:
    # A NOT NULL column can still read NULLs through an outer query; keep nullable then.
    if not spec.nullable and not series.isna().any():
        return series.astype(dtype)
    return series


def _decimal(value: Any) -> decimal.Decimal:
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def datetime_series(values: Any, tz: bool) -> pd.Series:
    if tz:
        series = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="mixed"))
        return series.astype("datetime64[us, UTC]")
    series = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), format="mixed"))
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[us]")


def frame_from_rows(rows: list[Any], specs: list[ColumnSpec]) -> pd.DataFrame:
    """A chunk from driver rows (tuples), typed by the column specs."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in specs]
    data = {spec.name: column_from_values(list(col), spec) for spec, col in zip(specs, columns, strict=True)}
    return pd.DataFrame(data, columns=[s.name for s in specs])


def empty_frame(specs: list[ColumnSpec]) -> pd.DataFrame:
    return pd.DataFrame(
        {s.name: pd.Series([], dtype=s.dtype) for s in specs}, columns=[s.name for s in specs]
    )


# ---------------------------------------------------------------- Arrow (files, DuckDB, Snowflake)

_ARROW_NULLABLE = {
    pa.int8(): pd.Int64Dtype(),
    pa.int16(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.Int64Dtype(),
    pa.uint16(): pd.Int64Dtype(),
    pa.uint32(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def spec_of_arrow_field(field: pa.Field, pandas_dtype: str | None = None) -> ColumnSpec:
    """Describe an Arrow column; `pandas_dtype` is the dtype the writer recorded, if any."""
    spec = _spec_of_arrow(field.name, field.type)
    nullable = True
    if pandas_dtype is not None and spec.kind in ("int", "bool"):
        nullable = pandas_dtype not in ("int8", "int16", "int32", "int64", "bool", "uint8", "uint16")
    return ColumnSpec(
        field.name, spec.kind, nullable=nullable, tz=spec.tz, scale=spec.scale, source_type=str(field.type)
    )


def frame_from_arrow(table: pa.Table | pa.RecordBatch, specs: list[ColumnSpec]) -> pd.DataFrame:
    """An Arrow batch as a pandas chunk with the dtypes the specs prescribe."""
    df = table.to_pandas(types_mapper=_ARROW_NULLABLE.get, date_as_object=True)
    for spec in specs:
        if spec.name not in df.columns:
            continue
        col = df[spec.name]
        if spec.kind in ("int", "bool"):
            if col.dtype == object:  # e.g. integers that arrived as decimal128(38, 0)
                col = column_from_values(col.tolist(), ColumnSpec(spec.name, spec.kind))
            df[spec.name] = _not_null(col, spec, "int64" if spec.kind == "int" else "bool")
        elif spec.kind == "datetime":
            target = "datetime64[us, UTC]" if spec.tz else "datetime64[us]"
            if spec.tz and isinstance(col.dtype, pd.DatetimeTZDtype):
                col = col.dt.tz_convert("UTC")
            df[spec.name] = col.astype(target)
        elif spec.kind == "string" and str(col.dtype) != "str":
            df[spec.name] = col.astype("str")
    return df
