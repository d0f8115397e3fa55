"""The DuckDB session behind a storage connector's reads and `query()`: sandboxed and bounded.

DuckDB itself refuses every file outside the connector's storage (`allowed_directories` with
`enable_external_access = false`, then `lock_configuration`), so `read_csv('/etc/passwd')`,
`ATTACH`, `COPY ... TO` a local file and `INSTALL` fail whatever the SQL guard lets through. A
local connector without basePath reads any local path (as `read_data` does); set basePath to
confine it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import duckdb
import pyarrow as pa

from synth_dagster.connectors.storage.filesystems import Storage
from synth_dagster.connectors.timeouts import Watchdog

__all__ = ["allowed_roots", "bounded", "open_duckdb", "sql_str"]


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def allowed_roots(storage: Storage, base: str | None) -> list[str] | None:
    """Where DuckDB may read: the connector's storage; None for a local one without basePath."""
    if storage.protocol:
        return list(storage.prefixes)  # its own URLs only, no local file
    return [base.rstrip(os.sep) + os.sep] if base else None


def open_duckdb(storage: Storage, base: str | None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    # no extension downloads at run time; UTC so time-zone-aware values come back in UTC
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if storage.protocol:
        con.register_filesystem(storage.fs)
    elif base:
        con.execute(f"SET file_search_path = {sql_str(base)}")
    allowed = allowed_roots(storage, base)
    if allowed is not None:
        con.execute(f"SET allowed_directories = [{', '.join(sql_str(a) for a in allowed)}]")
        con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")  # the settings above hold for the whole session
    return con


def bounded(batches: Iterator[pa.RecordBatch], watchdog: Watchdog) -> Iterator[pa.RecordBatch]:
    """The batches of a stream, each fetch bounded by the watchdog (not the caller's time)."""
    while True:
        with watchdog.arm():
            batch = next(batches, None)
        if batch is None:
            return
        yield batch
