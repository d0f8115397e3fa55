"""A Parquet file IO manager: DataFrames (or dicts of them) as files under a folder or fsspec URL.

Layout: `<base_path>/<asset key path>.parquet` for a DataFrame, `<base_path>/<asset key path>/
<table>.parquet` for a dict of DataFrames (multi-table outputs), `<key>/<partition>.parquet` for
partitioned assets: one part per partition, so that the folder is one Parquet dataset (the combined
view) and a rerun of a partition replaces exactly its part. Writes are atomic: a reader sees the
old file or the new one, and runs of different partitions writing at once never meet (each writes
its own temporary file and renames it). An output may also be an iterable of DataFrames (the chunks
of a large synthetic dataset): they are streamed into one file as row groups, so the writer's memory
holds one chunk at a time.
"""

from __future__ import annotations

import io
import os
import posixpath
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import dagster as dg
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from synth_dagster.domain.names import path_component
from synth_dagster.integration.connectors import table_metadata

__all__ = ["ParquetIOManager"]


class ParquetIOManager(dg.ConfigurableIOManager):
    """Store DataFrame outputs as Parquet files and load them back.

    `base_path` is a folder or an fsspec URL; `storage_options` are fsspec options (pass
    credentials as `dagster.EnvVar`).
    """

    base_path: str
    storage_options: dict[str, str] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return f"ParquetIOManager(base_path={self.base_path!r}, storage_options={ {k: '***' for k in self.storage_options} })"

    # ------------------------------------------------------------ paths

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        base = self.base_path
        if "://" not in base:
            base = str(Path(base).expanduser().resolve())
        return fsspec.core.url_to_fs(base, **self.storage_options)

    def _stem(self, context: dg.OutputContext | dg.InputContext, partition: str | None = None) -> list[str]:
        parts = list(context.asset_key.path) if context.has_asset_key else list(context.get_identifier())
        if partition is None and context.has_asset_partitions:
            keys = context.asset_partition_keys
            if len(keys) != 1:
                raise dg.DagsterInvariantViolationError(
                    "ParquetIOManager stores one partition per run step, or a dict of partition key to "
                    f"value; got {len(keys)} partitions and one value"
                )
            partition = keys[0]
        if partition is not None:
            parts.append(partition)
        return [path_component(p, "asset key or partition key part") for p in parts]

    # ------------------------------------------------------------ store

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return  # assets without a value (e.g. reports) have nothing to store
        fs, root = self._fs()
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            # a run over several partitions gives {partition key: value}: one part each
            if not isinstance(obj, Mapping) or set(obj) != set(context.asset_partition_keys):
                raise dg.DagsterInvariantViolationError(
                    f"a run over {len(context.asset_partition_keys)} partitions must give a dict of "
                    "partition key to DataFrame (or iterable of DataFrames)"
                )
            rows = sum(
                self._write_part(fs, posixpath.join(root, *self._stem(context, k)), v) for k, v in obj.items()
            )
            context.add_output_metadata({"dagster/row_count": dg.MetadataValue.int(rows)})
            return
        stem = posixpath.join(root, *self._stem(context))
        if _is_stream(obj):
            path = stem + ".parquet"
            rows = _write_stream(fs, path, obj)
            context.add_output_metadata(
                {
                    "dagster/row_count": dg.MetadataValue.int(rows),
                    "path": dg.MetadataValue.path(_display(fs, path)),
                }
            )
            return
        if isinstance(obj, pd.DataFrame):
            path = stem + ".parquet"
            _write_atomic(fs, path, obj)
            context.add_output_metadata(
                {**table_metadata(obj), "path": dg.MetadataValue.path(_display(fs, path))}
            )
            return
        if isinstance(obj, Mapping) and all(isinstance(v, pd.DataFrame) for v in obj.values()):
            meta: dict[str, Any] = {}
            for table, frame in obj.items():
                path = posixpath.join(stem, f"{path_component(table, 'table name')}.parquet")
                _write_atomic(fs, path, frame)
                meta[f"{table}/row_count"] = dg.MetadataValue.int(len(frame))
                meta[f"{table}/path"] = dg.MetadataValue.path(_display(fs, path))
            meta["dagster/row_count"] = dg.MetadataValue.int(sum(len(f) for f in obj.values()))
            meta["path"] = dg.MetadataValue.path(_display(fs, stem))
            context.add_output_metadata(meta)
            return
        raise dg.DagsterInvariantViolationError(
            f"ParquetIOManager stores a pandas DataFrame or a dict of them; "
            f"{context.asset_key.to_user_string() if context.has_asset_key else 'the output'} "
            f"gave {type(obj).__name__}"
        )

    def _write_part(self, fs: fsspec.AbstractFileSystem, stem: str, value: Any) -> int:
        if isinstance(value, pd.DataFrame):
            _write_atomic(fs, stem + ".parquet", value)
            return len(value)
        return _write_stream(fs, stem + ".parquet", value)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | dict[str, pd.DataFrame]:
        fs, root = self._fs()
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            # the combined view: the parts of every partition asked for, in partition key order
            parts = [
                posixpath.join(root, *self._stem(context, k)) + ".parquet"
                for k in context.asset_partition_keys
            ]
            missing = [p for p in parts if not fs.exists(p)]
            if missing:
                raise FileNotFoundError(
                    f"ParquetIOManager: {len(missing)} partition(s) are not materialized, e.g. {_display(fs, missing[0])}"
                )
            return pd.concat([_read(fs, p) for p in parts], ignore_index=True)
        stem = posixpath.join(root, *self._stem(context))
        if fs.exists(stem + ".parquet"):
            return _read(fs, stem + ".parquet")
        if fs.isdir(stem):
            files = sorted(p for p in fs.ls(stem, detail=False) if p.endswith(".parquet"))
            return {unquote(posixpath.basename(p)[: -len(".parquet")]): _read(fs, p) for p in files}
        what = context.asset_key.to_user_string() if context.has_asset_key else "the input"
        raise FileNotFoundError(
            f"ParquetIOManager: no stored value for {what} at {_display(fs, stem)}.parquet; "
            "materialize the upstream asset first"
        )


def _display(fs: fsspec.AbstractFileSystem, path: str) -> str:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return path if protocol in ("file", "local") else f"{protocol}://{path}"


def _read(fs: fsspec.AbstractFileSystem, path: str) -> pd.DataFrame:
    with fs.open(path, "rb") as fh:
        return pd.read_parquet(io.BytesIO(fh.read()))


def _write_atomic(fs: fsspec.AbstractFileSystem, path: str, frame: pd.DataFrame) -> None:
    data = frame.to_parquet(index=False)
    parent = posixpath.dirname(path)
    fs.makedirs(parent, exist_ok=True)
    if _is_local(fs):
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    else:
        fs.pipe_file(path, data)  # one PUT: readers see the old object or the new one


def _is_stream(obj: Any) -> bool:
    return isinstance(obj, Iterator) or (
        isinstance(obj, Iterable) and not isinstance(obj, pd.DataFrame | Mapping | str | bytes)
    )


def _write_stream(fs: fsspec.AbstractFileSystem, path: str, frames: Iterable[pd.DataFrame]) -> int:
    """Frames as the row groups of one Parquet file, renamed into place once complete."""
    parent = posixpath.dirname(path)
    fs.makedirs(parent, exist_ok=True)
    local = _is_local(fs)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=parent if local else None)
    os.close(fd)
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            elif table.schema != writer.schema:
                table = table.cast(writer.schema)  # e.g. a column with no value in this chunk
            writer.write_table(table)
            rows += len(frame)
        if writer is None:
            raise dg.DagsterInvariantViolationError("the output gave no DataFrame to write")
        writer.close()
        if local:
            os.replace(tmp, path)
        else:
            fs.put_file(tmp, path)  # one upload: readers see the old object or the new one
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    return rows


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")
