"""CSV, Parquet and JSON files (and folders of them) on local disk, S3, GCS or Azure.

Reads and `query()` go through DuckDB, which streams the files through the fsspec filesystem and
does `limit` and `shuffle`; writes stream chunk by chunk through pyarrow (Parquet, CSV) or as JSON
lines, into a temporary name that replaces the target only once everything is written.

Locations: `bucket/path/file.parquet` (`container/path` on Azure; a scheme such as `s3://` is
accepted and ignored); for FILE_UPLOAD a path below `config.basePath`, or any local path when no
base path is set. A location without a file extension is a folder: reading takes every CSV,
Parquet or JSON file in it, writing creates Parquet part files in it.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synth_dagster.connectors.base import Connector
from synth_dagster.connectors.certs import CertificateFiles
from synth_dagster.connectors.errors import AccessDeniedError, LocationExistsError, LocationNotFoundError
from synth_dagster.connectors.frames import (
    ColumnSpec,
    frame_from_arrow,
    iter_frames,
    rechunk,
    spec_of_arrow_field,
    specs_of_frame,
)
from synth_dagster.connectors.storage.filesystems import Storage, build_filesystem
from synth_dagster.connectors.storage.sandbox import bounded, open_duckdb, sql_str
from synth_dagster.connectors.storage.writers import ParquetSink, write_csv, write_json_lines
from synth_dagster.connectors.timeouts import Watchdog
from synth_dagster.domain.connectors import ConnectorConfig, ConnectorType, IfExists

_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
_COMPRESSIONS = (".gz", ".bz2", ".zst", ".xz", ".zip")
TMP_MARK = ".sdtmp-"
ROWS_PER_PART = 1_000_000  # rows per Parquet part file when writing a folder
ARROW_BATCH = 4_096  # rows per Arrow batch fetched from DuckDB


def file_format(path: str) -> str | None:
    """csv / tsv / parquet / json for a file name, None for anything else (e.g. a folder)."""
    name = posixpath.basename(path.rstrip("/")).lower()
    for suffix in _COMPRESSIONS:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return _FORMATS.get(posixpath.splitext(name)[1])


class StorageConnector(Connector):
    """S3_STORAGE, GOOGLE_CLOUD_STORAGE, AZURE_STORAGE and FILE_UPLOAD (local files)."""

    sql_dialect = "DUCKDB"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self._storage: Storage | None = None
        self._certs = CertificateFiles()
        base = config.config.get("basePath")
        self._base = os.path.abspath(os.path.expanduser(str(base))) if base else None

    # -------------------------------------------------------------- filesystem and paths

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = build_filesystem(self.config, self.timeout, self._certs)
        return self._storage

    @property
    def local(self) -> bool:
        return self.config.type is ConnectorType.FILE_UPLOAD

    def close(self) -> None:
        self._storage = None
        self._certs.cleanup()

    def _path(self, location: str) -> str:
        """The filesystem path of a location (bucket/key for object stores)."""
        loc = location.strip()
        for prefix in self.storage.prefixes:
            if loc.lower().startswith(prefix):
                loc = loc[len(prefix) :]
                break
        if not self.local:
            path = loc.strip("/")
            if not path:
                raise ValueError(f"{self.label}: location {location!r} names no bucket or path")
            return path
        if self._base is None:
            return os.path.abspath(os.path.expanduser(loc))
        path = os.path.normpath(
            os.path.join(self._base, loc.lstrip("/")) if not loc.startswith(self._base) else loc
        )
        if path != self._base and not path.startswith(self._base + os.sep):
            raise ValueError(f"{self.label}: location {location!r} is outside the base path")
        return path

    def _display(self, path: str) -> str:
        """A path as a location string, the inverse of `_path`."""
        if self.local and self._base is not None:
            rel = os.path.relpath(path, self._base)
            return "" if rel == "." else rel
        return path

    def _url(self, path: str) -> str:
        """The path as DuckDB sees it."""
        protocol = self.storage.protocol
        return f"{protocol}://{path}" if protocol else path

    def _files(self, path: str, location: str) -> tuple[list[str], str]:
        fs = self.storage.fs
        if fs.isfile(path):
            fmt = file_format(path)
            if fmt is None:
                raise ValueError(
                    f"{self.label}: {location!r} is not a CSV, TSV, Parquet or JSON file "
                    f"(supported extensions: {', '.join(sorted(_FORMATS))})"
                )
            return [path], fmt
        if fs.isdir(path):
            files = [f for f in fs.find(path) if file_format(f) and TMP_MARK not in f]
            formats = {file_format(f) for f in files}
            if not files:
                raise LocationNotFoundError(
                    f"{self.label}: folder {location!r} has no CSV, Parquet or JSON files"
                )
            if len(formats) > 1:
                raise ValueError(f"{self.label}: folder {location!r} mixes file formats {sorted(formats)}")
            return sorted(files), formats.pop()  # type: ignore[return-value]
        raise LocationNotFoundError(f"{self.label}: location {location!r} not found")

    # -------------------------------------------------------------- DuckDB

    def _duckdb(self, threads: int | None = None) -> duckdb.DuckDBPyConnection:
        return open_duckdb(self.storage, self._base, threads)

    def _watchdog(self, con: duckdb.DuckDBPyConnection, operation: str) -> Watchdog:
        return Watchdog(self.query_timeout, con.interrupt, lambda: self.timeout_error(operation))

    def _outside(self, exc: duckdb.PermissionException) -> AccessDeniedError:
        where = (
            f"{self.storage.protocol}:// URLs of this storage"
            if self.storage.protocol
            else f"files below basePath {self._base!r}, named by their full path"
        )
        text = self.scrub(str(exc)).split(" - ")[0]
        return AccessDeniedError(f"{self.label}: query() may only read {where} ({text})")

    def _source(self, files: list[str], fmt: str) -> str:
        paths = "[" + ", ".join(sql_str(self._url(f)) for f in files) + "]"
        if fmt == "parquet":
            return f"read_parquet({paths}, union_by_name = true)"
        if fmt in ("csv", "tsv"):
            delim = ", delim = '\t'" if fmt == "tsv" else ""
            return f"read_csv({paths}, header = true, auto_detect = true, union_by_name = true{delim})"
        return f"read_json_auto({paths})"

    def _hints(self, files: list[str], fmt: str) -> dict[str, str]:
        """The pandas dtypes a Parquet writer recorded (int64 vs Int64, bool vs boolean)."""
        if fmt != "parquet":
            return {}
        with self.storage.fs.open(files[0], "rb") as fh:
            metadata = pq.read_schema(fh).pandas_metadata or {}
        return {c["name"]: str(c.get("numpy_type")) for c in metadata.get("columns", []) if c.get("name")}

    # -------------------------------------------------------------- interface

    def _test_connection(self) -> None:
        if self.local:
            if self._base and not os.path.isdir(self._base):
                raise LocationNotFoundError(f"{self.label}: basePath {self._base!r} is not a folder")
            return
        self.storage.fs.ls("")

    def _locations(self, prefix: str) -> list[str]:
        fs = self.storage.fs
        if not prefix:
            if not self.local:
                return sorted(str(b).rstrip("/") for b in fs.ls("", detail=False))
            path = self._base or os.getcwd()
        else:
            path = self._path(prefix)
        if not fs.exists(path):
            raise LocationNotFoundError(f"{self.label}: location {prefix!r} not found")
        if fs.isfile(path):
            return [self._display(path)]
        out = []
        for entry in fs.ls(path, detail=True):
            name = str(entry["name"]).rstrip("/")
            if TMP_MARK in posixpath.basename(name):
                continue
            shown = self._display(name)
            out.append(shown + "/" if entry.get("type") == "directory" else shown)
        return sorted(out)

    def _schema(self, location: str) -> list[dict[str, Any]]:
        files, fmt = self._files(self._path(location), location)
        con = self._duckdb()
        try:
            with self._watchdog(con, "read the schema").arm():
                rel = con.sql(f"SELECT * FROM {self._source(files, fmt)} LIMIT 0")
                schema = rel.to_arrow_table().schema
            hints = self._hints(files, fmt)
            out = []
            for field, typ in zip(schema, rel.types, strict=True):
                out.append(_spec(field, str(typ), hints.get(field.name)).as_schema())
            return out
        finally:
            con.close()

    def _read_chunks(
        self, location: str, limit: int | None, shuffle: bool, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        files, fmt = self._files(self._path(location), location)
        hints = self._hints(files, fmt)
        sql = f"SELECT * FROM {self._source(files, fmt)}"
        if shuffle:
            sql += " ORDER BY random()"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        # one thread streams row group by row group; more threads read ahead and hold more memory
        con = self._duckdb(threads=None if shuffle else 1)
        watchdog = self._watchdog(con, "read data")
        try:
            with watchdog.arm():
                relation = con.sql(sql)
                types = [str(t) for t in relation.types]
                # small Arrow batches from DuckDB (large ones double its buffers), joined into chunks
                reader = relation.to_arrow_reader(min(chunk_size, ARROW_BATCH))
            specs = [_spec(f, t, hints.get(f.name)) for f, t in zip(reader.schema, types, strict=True)]
            batches = (frame_from_arrow(b, specs) for b in bounded(iter(reader), watchdog) if b.num_rows)
            yield from rechunk(batches, chunk_size, specs)
        finally:
            con.close()

    def _query(self, sql: str) -> pd.DataFrame:
        con = self._duckdb()
        try:
            with self._watchdog(con, "run the query").arm():
                table = con.sql(sql).to_arrow_table()
        except duckdb.PermissionException as exc:
            raise self._outside(exc) from None
        finally:
            con.close()
        return frame_from_arrow(table, [spec_of_arrow_field(f) for f in table.schema])

    def _delete(self, location: str) -> None:
        path = self._path(location)
        fs = self.storage.fs
        if not fs.exists(path):
            raise LocationNotFoundError(f"{self.label}: location {location!r} not found")
        fs.rm(path, recursive=True)

    # -------------------------------------------------------------- writing

    def _write(
        self, data: pd.DataFrame | Iterable[pd.DataFrame], location: str, if_exists: IfExists, chunk_size: int
    ) -> int:
        path = self._path(location)
        fs = self.storage.fs
        fmt = file_format(path)
        frames = iter_frames(data, chunk_size)
        first = next(frames, None)
        if first is None:
            raise ValueError(f"{self.label}: write_data got no frames to write")
        specs_of_frame(first)  # fail early on duplicate or missing column names
        new = chain([first], frames)
        exists = fs.exists(path)
        if exists and if_exists is IfExists.FAIL:
            raise LocationExistsError(
                f"{self.label}: {location!r} already exists; pass if_exists='replace' or 'append'"
            )
        parent, name = (
            posixpath.split(path.rstrip("/")) if not self.local else os.path.split(path.rstrip(os.sep))
        )
        tmp = self._join(parent, f"{TMP_MARK}{uuid.uuid4().hex[:12]}-{name}")
        if self.local and parent:
            os.makedirs(parent, exist_ok=True)  # object stores have no folders to create
        counter = _Counter()
        try:
            if fmt is None:
                if exists and if_exists is IfExists.APPEND and fs.isdir(path):
                    # new part files land under temporary names, then move in one by one
                    self._write_parts(tmp, counter.count(new))
                    for part in fs.ls(tmp, detail=False):
                        target = self._join(path, posixpath.basename(str(part)))
                        if self.local:
                            os.replace(part, target)
                        else:
                            self._move(str(part), target)
                    if fs.exists(tmp):
                        fs.rm(tmp, recursive=True)
                    return counter.rows
                self._write_parts(tmp, counter.count(new))
            else:
                frames_out: Iterator[pd.DataFrame] = counter.count(new)
                if exists and if_exists is IfExists.APPEND:
                    old = self._read_chunks(location, None, False, chunk_size)
                    frames_out = chain(old, frames_out)
                self._write_file(tmp, fmt, frames_out)
            self._swap(tmp, path, replace=exists)
        except BaseException:
            if fs.exists(tmp):
                fs.rm(tmp, recursive=True)
            raise
        return counter.rows

    def _join(self, *parts: str) -> str:
        return os.path.join(*parts) if self.local else posixpath.join(*parts)

    def _swap(self, tmp: str, path: str, replace: bool) -> None:
        fs = self.storage.fs
        if self.local:
            if replace and os.path.isdir(path):
                trash = f"{tmp}.old"
                os.replace(path, trash)
                os.replace(tmp, path)
                fs.rm(trash, recursive=True)
            else:
                os.replace(tmp, path)  # atomic for files
            return
        if replace:
            fs.rm(path, recursive=True)
        self._move(tmp, path)

    def _move(self, source: str, target: str) -> None:
        # object stores have no rename: copy, then delete (what fsspec's mv does, minus the
        # server-side move calls that emulators lack)
        fs = self.storage.fs
        if fs.isdir(source):
            for part in fs.find(source):
                fs.copy(part, target + part[len(source) :])
        else:
            fs.copy(source, target)
        fs.rm(source, recursive=True)

    def _write_file(self, path: str, fmt: str, frames: Iterator[pd.DataFrame]) -> None:
        fs = self.storage.fs
        if fmt == "parquet":
            with fs.open(path, "wb") as fh:
                ParquetSink(fh).write_all(frames)
            return
        with fs.open(path, "wb", compression="infer") as fh:
            if fmt in ("csv", "tsv"):
                write_csv(fh, frames, "\t" if fmt == "tsv" else ",")
            else:
                write_json_lines(fh, frames)

    def _write_parts(self, folder: str, frames: Iterator[pd.DataFrame]) -> None:
        fs = self.storage.fs
        fs.makedirs(folder, exist_ok=True)
        run = uuid.uuid4().hex[:8]
        sink: ParquetSink | None = None
        handle = None
        index = 0
        try:
            for frame in frames:
                if sink is None or sink.rows >= ROWS_PER_PART:
                    if sink is not None:
                        sink.close()
                        handle.close()  # type: ignore[union-attr]
                    handle = fs.open(self._join(folder, f"part-{run}-{index:05d}.parquet"), "wb")
                    sink = ParquetSink(handle, schema=sink.schema if sink else None)
                    index += 1
                sink.write(frame)
        finally:
            if sink is not None:
                sink.close()
            if handle is not None:
                handle.close()


def _spec(field: pa.Field, duckdb_type: str, hint: str | None) -> ColumnSpec:
    spec = spec_of_arrow_field(field, hint)
    if duckdb_type in ("HUGEINT", "UHUGEINT", "UBIGINT"):
        # DuckDB widens large JSON / CSV integers; they are integers all the same
        spec = ColumnSpec(spec.name, "int")
    return ColumnSpec(spec.name, spec.kind, spec.nullable, spec.tz, spec.scale, source_type=duckdb_type)


class _Counter:
    """Counts the rows of the frames passing through (the new rows of an append)."""

    def __init__(self) -> None:
        self.rows = 0

    def count(self, frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            self.rows += len(frame)
            yield frame
