"""File writers of the storage connector: Parquet, CSV / TSV and JSON lines, one chunk at a time."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from synth_dagster.connectors.frames import python_values, specs_of_frame

__all__ = ["ParquetSink", "write_csv", "write_json_lines"]


def _arrow_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow schema for a whole write, from its first frame; wide enough for later frames."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    fields = []
    for field in schema:
        typ = field.type
        if pa.types.is_null(typ):
            typ = pa.string()  # an all-empty first chunk: later chunks will be text at most
        elif pa.types.is_decimal(typ):
            typ = pa.decimal128(38, min(max(typ.scale, 0), 18))
        elif pa.types.is_timestamp(typ) and typ.unit == "ns":
            typ = pa.timestamp("us", typ.tz)
        fields.append(pa.field(field.name, typ))
    return pa.schema(fields, metadata=schema.metadata)


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False, safe=False)


class ParquetSink:
    def __init__(self, handle: Any, schema: pa.Schema | None = None) -> None:
        self._handle = handle
        self.schema = schema
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if self.schema is None:
            self.schema = _arrow_schema(frame)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._handle, self.schema)
        self._writer.write_table(_to_arrow(frame, self.schema))
        self.rows += len(frame)

    def write_all(self, frames: Iterable[pd.DataFrame]) -> None:
        try:
            for frame in frames:
                self.write(frame)
        finally:
            self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def write_csv(handle: Any, frames: Iterable[pd.DataFrame], delimiter: str) -> None:
    writer: pa_csv.CSVWriter | None = None
    schema: pa.Schema | None = None
    try:
        for frame in frames:
            if schema is None:
                schema = _arrow_schema(frame)
                writer = pa_csv.CSVWriter(
                    handle, schema, write_options=pa_csv.WriteOptions(delimiter=delimiter)
                )
            writer.write_table(_to_arrow(frame, schema))  # type: ignore[union-attr]
    finally:
        if writer is not None:
            writer.close()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")  # one form: DuckDB detects it
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def write_json_lines(handle: Any, frames: Iterable[pd.DataFrame]) -> None:
    specs = None
    for frame in frames:
        specs = specs or specs_of_frame(frame)
        names = [s.name for s in specs]
        columns = [python_values(frame.iloc[:, i], spec) for i, spec in enumerate(specs)]
        lines = (
            json.dumps(dict(zip(names, row, strict=True)), default=_json_default, ensure_ascii=False)
            for row in zip(*columns, strict=True)
        )
        handle.write(("\n".join(lines) + "\n").encode() if len(frame) else b"")
