"""SNOWFLAKE through snowflake-connector-python.

Tested against fakesnow (an in-process Snowflake emulator on DuckDB); a real account speaks the
same SQL. Locations are `schema.table` in `config.database`; names are matched exactly first and
then case-insensitively, because unquoted Snowflake identifiers are stored upper-case.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import pandas as pd

from synth_dagster.connectors.base import Connector
from synth_dagster.connectors.drivers import require
from synth_dagster.connectors.errors import LocationExistsError, LocationNotFoundError
from synth_dagster.connectors.frames import (
    ColumnSpec,
    empty_frame,
    frame_from_rows,
    iter_frames,
    python_values,
    rechunk,
    specs_of_frame,
)
from synth_dagster.connectors.sql.connector import INSERT_BATCH, TMP_PREFIX, frame_from_values
from synth_dagster.domain.connectors import ConnectorConfig, IfExists


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snowflake_type(spec: ColumnSpec) -> str:
    """The column type `write_data` creates for a frame column."""
    return {
        "int": "NUMBER(38, 0)",
        "float": "FLOAT",
        "bool": "BOOLEAN",
        "date": "DATE",
        "time": "TIME",
        "bytes": "BINARY",
        "decimal": f"NUMBER(38, {10 if spec.scale is None else min(spec.scale, 18)})",
        "datetime": "TIMESTAMP_TZ(6)" if spec.tz else "TIMESTAMP_NTZ(6)",
    }.get(spec.kind, "VARCHAR")


def spec_of_column(name: str, data_type: str, nullable: bool, precision: Any, scale: Any) -> ColumnSpec:
    t = str(data_type).upper()
    source = t if precision is None else f"{t}({precision}, {scale or 0})"
    if t in ("NUMBER", "DECIMAL", "NUMERIC", "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT"):
        if not scale and (precision is None or int(precision) <= 38):
            return ColumnSpec(name, "int", nullable, source_type=source)
        return ColumnSpec(name, "decimal", nullable, scale=int(scale), source_type=source)
    kinds = {
        "FLOAT": "float",
        "DOUBLE": "float",
        "REAL": "float",
        "BOOLEAN": "bool",
        "DATE": "date",
        "TIME": "time",
        "BINARY": "bytes",
        "TEXT": "string",
        "VARCHAR": "string",
        "STRING": "string",
        "CHAR": "string",
    }
    if t.startswith("TIMESTAMP"):
        return ColumnSpec(
            name, "datetime", nullable, tz=t in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ"), source_type=source
        )
    return ColumnSpec(name, kinds.get(t, "other"), nullable, source_type=source)


class SnowflakeConnector(Connector):
    """Snowflake: `config.account`, `username`, `warehouse` (default COMPUTE_WH), `database`."""

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.sql_dialect = "SNOWFLAKE"
        self._conn: Any = None

    @property
    def connection(self) -> Any:
        if self._conn is None:
            sf = require(
                "snowflake.connector",
                connector_type="SNOWFLAKE",
                extra="snowflake",
                package="snowflake-connector-python",
            )
            cfg = self.config.config
            kwargs: dict[str, Any] = {
                "account": cfg["account"],
                "user": cfg["username"],
                "password": self.config.secret_values().get("password"),
                "warehouse": cfg.get("warehouse") or "COMPUTE_WH",
                "login_timeout": self.timeout,
                "network_timeout": max(self.timeout, 60.0),
                "application": "synth_dagster",
                # the server cancels every statement past the query timeout
                "session_parameters": {"STATEMENT_TIMEOUT_IN_SECONDS": self._timeout_seconds},
            }
            if cfg.get("database"):
                kwargs["database"] = cfg["database"]
            if cfg.get("role"):
                kwargs["role"] = cfg["role"]
            self._conn = sf.connect(**kwargs)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    @property
    def _timeout_seconds(self) -> int:
        return max(1, math.ceil(self.query_timeout))

    def _execute(self, sql: str, params: Any = None) -> Any:
        cursor = self.connection.cursor()
        # and the client cancels it too, should the session parameter not apply (e.g. a proxy)
        cursor.execute(sql, params, timeout=self._timeout_seconds)
        return cursor

    def _test_connection(self) -> None:
        self._execute("SELECT 1").fetchall()

    # -------------------------------------------------------------- names

    def _schemas(self) -> list[str]:
        rows = self._execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        return [r[0] for r in rows if str(r[0]).upper() != "INFORMATION_SCHEMA"]

    def _tables(self, schema: str) -> list[str]:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        return [r[0] for r in self._execute(sql, (schema,)).fetchall()]

    @staticmethod
    def _match(name: str, names: list[str]) -> str | None:
        if name in names:
            return name
        folded = [n for n in names if n.upper() == name.upper()]
        return folded[0] if len(folded) == 1 else None

    def _split(self, location: str) -> tuple[str, str]:
        schema, dot, table = location.partition(".")
        if not dot or not schema or not table:
            raise ValueError(f"{self.label}: location {location!r} must be 'schema.table'")
        return schema.strip('"'), table.strip('"')

    def _resolve(self, location: str, must_exist: bool = True) -> tuple[str, str, bool]:
        """(schema, table, exists) with the names as stored."""
        schema, table = self._split(location)
        stored_schema = self._match(schema, self._schemas())
        if stored_schema is None:
            if must_exist:
                raise LocationNotFoundError(f"{self.label}: schema {schema!r} not found")
            return schema, table, False
        tables = self._tables(stored_schema)
        stored_table = self._match(table, tables)
        if stored_table is None and must_exist:
            raise LocationNotFoundError(
                f"{self.label}: table {location!r} not found; tables in {stored_schema!r}: "
                f"{', '.join(sorted(tables)[:20]) or 'none'}"
            )
        return stored_schema, stored_table or table, stored_table is not None

    def _specs(self, schema: str, table: str) -> list[ColumnSpec]:
        sql = (
            "SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position"
        )
        rows = self._execute(sql, (schema, table)).fetchall()
        return [spec_of_column(r[0], r[1], str(r[2]).upper() != "NO", r[3], r[4]) for r in rows]

    # -------------------------------------------------------------- interface

    def _locations(self, prefix: str) -> list[str]:
        if not prefix:
            return sorted(self._schemas())
        schema, _, table_prefix = prefix.partition(".")
        stored = self._match(schema.strip('"'), self._schemas())
        if stored is None:
            raise LocationNotFoundError(f"{self.label}: schema {schema!r} not found")
        return sorted(
            f"{stored}.{t}"
            for t in self._tables(stored)
            if t.upper().startswith(table_prefix.upper()) and not t.startswith(TMP_PREFIX)
        )

    def _schema(self, location: str) -> list[dict[str, Any]]:
        schema, table, _ = self._resolve(location)
        return [s.as_schema() for s in self._specs(schema, table)]

    def select_statement(
        self, schema: str, table: str, columns: list[str], limit: int | None, shuffle: bool
    ) -> str:
        sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(schema)}.{quote(table)}"
        if shuffle:
            sql += " ORDER BY RANDOM()"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql

    def _read_chunks(
        self, location: str, limit: int | None, shuffle: bool, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        schema, table, _ = self._resolve(location)
        specs = self._specs(schema, table)
        if limit == 0:
            yield empty_frame(specs)
            return
        cursor = self._execute(self.select_statement(schema, table, [s.name for s in specs], limit, shuffle))
        yield from rechunk(_fetched(cursor, chunk_size, specs), chunk_size, specs)

    def _query(self, sql: str) -> pd.DataFrame:
        cursor = self._execute(sql)
        names = [d[0] for d in cursor.description or []]
        return frame_from_values(cursor.fetchall(), names)

    def _delete(self, location: str) -> None:
        schema, table, _ = self._resolve(location)
        self._execute(f"DROP TABLE {quote(schema)}.{quote(table)}")

    def create_table_sql(self, schema: str, table: str, specs: list[ColumnSpec]) -> str:
        columns = ", ".join(
            f"{quote(s.name)} {snowflake_type(s)}{'' if s.nullable else ' NOT NULL'}" for s in specs
        )
        return f"CREATE TABLE {quote(schema)}.{quote(table)} ({columns})"

    def _write(
        self, data: pd.DataFrame | Iterable[pd.DataFrame], location: str, if_exists: IfExists, chunk_size: int
    ) -> int:
        chunks = iter_frames(data, chunk_size)
        first = next(chunks, None)
        if first is None:
            raise ValueError(f"{self.label}: write_data got no frames to write")
        schema, table, exists = self._resolve(location, must_exist=False)
        if exists and if_exists is IfExists.FAIL:
            raise LocationExistsError(
                f"{self.label}: table {location!r} already exists; pass if_exists='replace' or 'append'"
            )
        frames = chain([first], chunks)
        if exists and if_exists is IfExists.APPEND:
            return self._insert(schema, table, self._specs(schema, table), frames)
        self._execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        specs = specs_of_frame(first)
        tmp = f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}"
        self._execute(self.create_table_sql(schema, tmp, specs))
        try:
            rows = self._insert(schema, tmp, specs, frames)
            if exists:
                self._execute(f"DROP TABLE {quote(schema)}.{quote(table)}")
            self._execute(
                f"ALTER TABLE {quote(schema)}.{quote(tmp)} RENAME TO {quote(schema)}.{quote(table)}"
            )
        except BaseException:
            self._execute(f"DROP TABLE IF EXISTS {quote(schema)}.{quote(tmp)}")
            raise
        return rows

    def _insert(
        self, schema: str, table: str, specs: list[ColumnSpec], frames: Iterable[pd.DataFrame]
    ) -> int:
        by_name = {s.name: s for s in specs}
        total = 0
        for frame in frames:
            names = [str(c) for c in frame.columns]
            unknown = [n for n in names if n not in by_name]
            if unknown:
                raise ValueError(f"{self.label}: columns {unknown} are not in table {table!r}")
            sql = (
                f"INSERT INTO {quote(schema)}.{quote(table)} ({', '.join(quote(n) for n in names)}) "
                f"VALUES ({', '.join(['%s'] * len(names))})"
            )
            for start in range(0, len(frame), INSERT_BATCH):
                part = frame.iloc[start : start + INSERT_BATCH]
                columns = [python_values(part.iloc[:, i], by_name[n]) for i, n in enumerate(names)]
                self.connection.cursor().executemany(sql, list(zip(*columns, strict=True)))
            total += len(frame)
        return total


def _fetched(cursor: Any, size: int, specs: list[ColumnSpec]) -> Iterator[pd.DataFrame]:
    while rows := cursor.fetchmany(size):
        yield frame_from_rows(rows, specs)
