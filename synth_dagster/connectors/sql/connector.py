"""One connector for every database reached through a SQLAlchemy dialect.

Reads select raw driver values through a streaming cursor and type them from the reflected schema
(`frames.py`), so each chunk has the same dtypes and at most one chunk is in memory. Writes create
the table under a temporary name, load it chunk by chunk (COPY on PostgreSQL, multi-row INSERTs
elsewhere) and rename it into place at the end, so a failed write leaves the previous table intact.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import uuid
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from synth_dagster.connectors.base import Connector
from synth_dagster.connectors.certs import CertificateFiles
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
from synth_dagster.connectors.sql.dialects import (
    FLAVORS,
    TZ_COMMENT,
    Flavor,
    build_url,
    column_type,
    connect_args,
    spec_of_reflected,
)
from synth_dagster.connectors.sql.sessions import install_query_timeout
from synth_dagster.domain.connectors import ConnectorConfig, ConnectorType, IfExists

TMP_PREFIX = "_sdtmp_"
_CSV_KINDS = {"int", "float", "bool", "datetime", "date", "decimal", "string"}
INSERT_BATCH = 10_000  # rows held as Python objects at a time, reading or writing


class SqlConnector(Connector):
    """POSTGRES, MYSQL, MARIADB, MSSQL, ORACLE, SQLITE, REDSHIFT, HIVE and DATABRICKS.

    Locations are `schema.table` (`database.table` on MySQL, MariaDB and Hive); a bare `table`
    uses the connection's default schema.
    """

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.flavor: Flavor = FLAVORS[config.type]
        self.sql_dialect = config.type.value
        self._engine: sa.Engine | None = None
        self._certs = CertificateFiles()

    # -------------------------------------------------------------- engine

    @property
    def url(self) -> str:
        """The connection URL with the password masked."""
        return build_url(self.config, self.flavor).render_as_string(hide_password=True)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            flavor = self.flavor
            require(
                flavor.module, connector_type=flavor.type.value, extra=flavor.extra, package=flavor.package
            )
            url = build_url(self.config, flavor)
            kwargs: dict[str, Any] = {
                "connect_args": connect_args(self.config, flavor, self.timeout, self._certs),
                "hide_parameters": True,  # keep row values out of error messages
                "pool_pre_ping": True,
            }
            if flavor.type is ConnectorType.SQLITE and str(self.config.config["database"]) in (
                "",
                ":memory:",
            ):
                kwargs["poolclass"] = StaticPool  # one shared in-memory database
                kwargs["connect_args"]["check_same_thread"] = False
            self._engine = sa.create_engine(url, **kwargs)
            install_query_timeout(self._engine, flavor, self.query_timeout)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._certs.cleanup()

    def _test_connection(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.select(sa.literal(1))).scalar()

    # -------------------------------------------------------------- locations and schema

    def _split(self, location: str) -> tuple[str | None, str]:
        schema, dot, table = location.partition(".")
        if not dot:
            schema, table = None, location
        schema = _unquote(schema) if schema else None
        table = _unquote(table)
        if not table:
            raise ValueError(f"{self.label}: location {location!r} names no table; use 'schema.table'")
        if schema is None and self.flavor.type in (ConnectorType.MYSQL, ConnectorType.MARIADB):
            raise ValueError(f"{self.label}: location {location!r} must be 'database.table'")
        return schema, table

    def _schemas(self, inspector: sa.Inspector) -> list[str]:
        return [s for s in inspector.get_schema_names() if s not in self.flavor.system_schemas]

    def _locations(self, prefix: str) -> list[str]:
        inspector = sa.inspect(self.engine)
        schemas = self._schemas(inspector)
        if not prefix:
            return sorted(schemas)
        schema, _, table_prefix = prefix.partition(".")
        schema = _unquote(schema)
        if schema not in schemas:
            raise LocationNotFoundError(
                f"{self.label}: schema {schema!r} not found; available: {', '.join(sorted(schemas)[:20])}"
            )
        names = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
        return sorted(
            f"{schema}.{n}" for n in set(names) if n.startswith(table_prefix) and not n.startswith(TMP_PREFIX)
        )

    def _has_table(self, conn: sa.Connection, schema: str | None, table: str) -> bool:
        return sa.inspect(conn).has_table(table, schema=schema)

    def _specs(self, conn: sa.Connection, schema: str | None, table: str) -> list[ColumnSpec]:
        inspector = sa.inspect(conn)
        if not inspector.has_table(table, schema=schema):
            raise self._not_found(inspector, schema, table)
        columns = inspector.get_columns(table, schema=schema)
        declared: dict[str, str] = {}
        if self.flavor.type is ConnectorType.SQLITE:
            # SQLite keeps declared type names verbatim; our time-zone marker lives there.
            prep = conn.dialect.identifier_preparer
            pragma = (
                f"PRAGMA {prep.quote(schema)}.table_info({prep.quote(table)})"
                if schema
                else (f"PRAGMA table_info({prep.quote(table)})")
            )
            declared = {row[1]: row[2] for row in conn.exec_driver_sql(pragma)}
        return [spec_of_reflected(c, self.flavor, conn.dialect, declared.get(c["name"])) for c in columns]

    def _not_found(self, inspector: sa.Inspector, schema: str | None, table: str) -> LocationNotFoundError:
        where = schema or inspector.default_schema_name
        try:
            tables = sorted(inspector.get_table_names(schema=schema))
            hint = f"; tables in {where!r}: {', '.join(tables[:20]) or 'none'}"
        except Exception:
            hint = f"; schema {where!r} does not exist"
        name = f"{schema}.{table}" if schema else table
        return LocationNotFoundError(f"{self.label}: table {name!r} not found{hint}")

    def _schema(self, location: str) -> list[dict[str, Any]]:
        schema, table = self._split(location)
        with self.engine.connect() as conn:
            return [spec.as_schema() for spec in self._specs(conn, schema, table)]

    # -------------------------------------------------------------- reading

    def select_statement(
        self, schema: str | None, table: str, columns: list[str], limit: int | None, shuffle: bool
    ) -> sa.Select:
        """The SELECT that read_data runs: limit and shuffle are done by the database."""
        stmt = sa.select(*[sa.column(c) for c in columns]).select_from(sa.table(table, schema=schema))
        if shuffle:
            stmt = stmt.order_by(sa.text(self.flavor.random))
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def _read_chunks(
        self, location: str, limit: int | None, shuffle: bool, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        schema, table = self._split(location)
        with self.engine.connect() as conn:
            specs = self._specs(conn, schema, table)
            if limit == 0:
                yield empty_frame(specs)
                return
            stmt = self.select_statement(schema, table, [s.name for s in specs], limit, shuffle)
            # stream_results: a server-side cursor, so the driver holds a batch, not the table
            batch = min(chunk_size, INSERT_BATCH)
            result = conn.execution_options(stream_results=True, max_row_buffer=batch).execute(stmt)
            # rows as Python objects are ~10x the size of typed columns: type them in small
            # batches and join the batches into chunks
            batches = (frame_from_rows(rows, specs) for rows in result.partitions(batch))
            yield from rechunk(batches, chunk_size, specs)

    # -------------------------------------------------------------- writing

    def _write(
        self, data: pd.DataFrame | Iterable[pd.DataFrame], location: str, if_exists: IfExists, chunk_size: int
    ) -> int:
        schema, table = self._split(location)
        chunks = iter_frames(data, chunk_size)
        first = next(chunks, None)
        if first is None:
            raise ValueError(f"{self.label}: write_data got no frames to write")
        with self.engine.connect() as conn:
            exists = self._has_table(conn, schema, table)
        name = f"{schema}.{table}" if schema else table
        if exists and if_exists is IfExists.FAIL:
            raise LocationExistsError(
                f"{self.label}: table {name!r} already exists; pass if_exists='replace' or 'append'"
            )
        if exists and if_exists is IfExists.APPEND:
            return self._append(schema, table, chain([first], chunks))
        return self._create_and_swap(schema, table, first, chunks, replace=exists)

    def _table(self, name: str, schema: str | None, specs: list[ColumnSpec]) -> sa.Table:
        columns = []
        for spec in specs:
            kwargs: dict[str, Any] = {"nullable": spec.nullable}
            if spec.kind == "datetime" and spec.tz and not self.flavor.native_tz:
                if self.flavor.dialect_name in ("mysql", "mariadb"):
                    kwargs["comment"] = TZ_COMMENT
            columns.append(sa.Column(spec.name, column_type(spec, self.flavor), **kwargs))
        table_kwargs: dict[str, Any] = {}
        if self.flavor.dialect_name in ("mysql", "mariadb"):
            table_kwargs = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
        return sa.Table(name, sa.MetaData(), *columns, schema=schema, **table_kwargs)

    def _create_and_swap(
        self,
        schema: str | None,
        table: str,
        first: pd.DataFrame,
        rest: Iterator[pd.DataFrame],
        replace: bool,
    ) -> int:
        specs = specs_of_frame(first)
        tmp = f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}"
        with self.engine.begin() as conn:
            self._ensure_schema(conn, schema)
            self._table(tmp, schema, specs).create(conn)
        try:
            rows = self._insert(schema, tmp, specs, chain([first], rest))
            self._swap(schema, tmp, table, replace)
        except BaseException:
            self._drop_quietly(schema, tmp)
            raise
        return rows

    def _ensure_schema(self, conn: sa.Connection, schema: str | None) -> None:
        """Create a missing destination schema (a database on MySQL / MariaDB / Hive)."""
        if schema is None or schema in sa.inspect(conn).get_schema_names():
            return
        if self.flavor.type in (ConnectorType.SQLITE, ConnectorType.ORACLE):
            # SQLite schemas are attached files, Oracle schemas are users: not ours to create
            raise LocationNotFoundError(f"{self.label}: schema {schema!r} does not exist")
        conn.execute(sa.schema.CreateSchema(schema))

    def _append(self, schema: str | None, table: str, frames: Iterable[pd.DataFrame]) -> int:
        with self.engine.connect() as conn:
            specs = self._specs(conn, schema, table)
        return self._insert(schema, table, specs, frames, check_columns=True)

    def _insert(
        self,
        schema: str | None,
        table: str,
        specs: list[ColumnSpec],
        frames: Iterable[pd.DataFrame],
        check_columns: bool = False,
    ) -> int:
        by_name = {s.name: s for s in specs}
        total = 0
        # one transaction: an append either lands whole or not at all
        with self.engine.begin() as conn:
            for frame in frames:
                names = [str(c) for c in frame.columns]
                unknown = [n for n in names if n not in by_name]
                if unknown:
                    raise ValueError(
                        f"{self.label}: columns {unknown} are not in table {table!r}; "
                        f"its columns are {list(by_name)}"
                    )
                frame_specs = [by_name[n] for n in names]
                # Python objects cost ~10x the frame's bytes: convert in small batches
                for start in range(0, len(frame), INSERT_BATCH):
                    part = frame.iloc[start : start + INSERT_BATCH]
                    if self.flavor.type is ConnectorType.POSTGRES and self._copy_csv(
                        conn, schema, table, names, part, frame_specs
                    ):
                        continue
                    columns = [
                        self._adapt(
                            python_values(part.iloc[:, i], spec, utc_naive=not self.flavor.native_tz), spec
                        )
                        for i, spec in enumerate(frame_specs)
                    ]
                    if self.flavor.type is ConnectorType.POSTGRES:
                        self._copy(conn, schema, table, names, columns)
                    else:
                        target = sa.table(table, *[sa.column(n) for n in names], schema=schema)
                        conn.execute(
                            target.insert(),
                            [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)],
                        )
                    del columns
                total += len(frame)
        return total

    def _adapt(self, values: list[Any], spec: ColumnSpec) -> list[Any]:
        """Values the driver binds correctly (SQLite has no date, time or decimal type)."""
        if self.flavor.type is not ConnectorType.SQLITE:
            return values
        if spec.kind in ("datetime", "date", "time"):
            return [
                None if v is None else v.isoformat(sep=" ") if spec.kind == "datetime" else v.isoformat()
                for v in values
            ]
        if spec.kind == "decimal":
            return [None if v is None else str(v) for v in values]
        return values

    def _copy_statement(self, conn: sa.Connection, schema: str | None, table: str, names: list[str]) -> str:
        prep = conn.dialect.identifier_preparer
        target = prep.format_table(sa.table(table, schema=schema))
        return f"COPY {target} ({', '.join(prep.quote(n) for n in names)}) FROM STDIN"

    def _run_copy(self, conn: sa.Connection, statement: str, buffer: Any) -> None:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(statement, buffer)
        finally:
            cursor.close()

    def _copy_csv(
        self,
        conn: sa.Connection,
        schema: str | None,
        table: str,
        names: list[str],
        part: pd.DataFrame,
        specs: list[ColumnSpec],
    ) -> bool:
        """COPY a batch as CSV written by Arrow (no Python object per value); False if Arrow can't."""
        if any(s.kind not in _CSV_KINDS for s in specs):
            return False
        try:
            arrow = pa.Table.from_pandas(part, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return False  # e.g. mixed objects in a text column: the Python path str()s them
        if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in arrow.schema.types):
            return False
        buffer = io.BytesIO()
        # every valid value quoted, NULL left empty and unquoted: COPY tells "" from NULL
        pa_csv.write_csv(arrow, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
        del arrow
        buffer.seek(0)
        self._run_copy(conn, self._copy_statement(conn, schema, table, names) + " WITH (FORMAT csv)", buffer)
        return True

    def _copy(
        self, conn: sa.Connection, schema: str | None, table: str, names: list[str], columns: list[list[Any]]
    ) -> None:
        # COPY ... FROM STDIN in text format: ~10x faster than INSERTs for large tables
        texts = [[_pg_text(v) for v in col] for col in columns]
        buffer = io.StringIO("\n".join("\t".join(row) for row in zip(*texts, strict=True)) + "\n")
        del texts
        self._run_copy(conn, self._copy_statement(conn, schema, table, names), buffer)

    def _swap(self, schema: str | None, tmp: str, table: str, replace: bool) -> None:
        prep = self.engine.dialect.identifier_preparer
        q_tmp = prep.format_table(sa.table(tmp, schema=schema))
        q_target = prep.format_table(sa.table(table, schema=schema))
        statements: list[str] = []
        mode = self.flavor.rename
        if mode == "mysql":
            # RENAME TABLE swaps both names in one atomic step
            if replace:
                q_old = prep.format_table(sa.table(f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}", schema=schema))
                statements = [
                    f"RENAME TABLE {q_target} TO {q_old}, {q_tmp} TO {q_target}",
                    f"DROP TABLE {q_old}",
                ]
            else:
                statements = [f"RENAME TABLE {q_tmp} TO {q_target}"]
        else:
            if replace:
                statements.append(f"DROP TABLE {q_target}")
            if mode == "mssql":
                old = f"{schema}.{tmp}" if schema else tmp
                statements.append(f"EXEC sp_rename N'{_sql_str(old)}', N'{_sql_str(table)}'")
            elif mode == "alter_qualified":
                statements.append(f"ALTER TABLE {q_tmp} RENAME TO {q_target}")
            else:
                statements.append(f"ALTER TABLE {q_tmp} RENAME TO {prep.quote(table)}")
        with self.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def _drop_quietly(self, schema: str | None, table: str) -> None:
        try:
            with self.engine.begin() as conn:
                sa.Table(table, sa.MetaData(), schema=schema).drop(conn, checkfirst=True)
        except Exception:
            pass  # best effort: the original error matters more

    def _delete(self, location: str) -> None:
        schema, table = self._split(location)
        with self.engine.begin() as conn:
            if not self._has_table(conn, schema, table):
                raise self._not_found(sa.inspect(conn), schema, table)
            sa.Table(table, sa.MetaData(), schema=schema).drop(conn)

    # -------------------------------------------------------------- query

    def _query(self, sql: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            sqlite = self.flavor.type is ConnectorType.SQLITE
            # second line of defence: the database itself refuses writes in this transaction
            if sqlite:
                conn.exec_driver_sql("PRAGMA query_only = ON")
            elif self.flavor.read_only_sql:
                conn.exec_driver_sql(self.flavor.read_only_sql)
            try:
                result = conn.exec_driver_sql(sql)
                names = [str(k) for k in result.keys()]
                rows = result.fetchall()
            finally:
                conn.rollback()
                if sqlite:
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
                    conn.commit()
        return frame_from_values(rows, names)


def frame_from_values(rows: list[Any], names: list[str]) -> pd.DataFrame:
    """A query result as a frame, each column typed from its values (no schema to go by)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    specs = [ColumnSpec(name, _kind_of_values(col)) for name, col in zip(names, columns, strict=True)]
    if len(set(names)) != len(names):  # SELECT a, a: keep both columns
        frame = frame_from_rows(rows, [ColumnSpec(f"{i}", s.kind, tz=s.tz) for i, s in enumerate(specs)])
        frame.columns = names
        return frame
    specs = [ColumnSpec(s.name, s.kind, tz=_aware(col)) for s, col in zip(specs, columns, strict=True)]
    return frame_from_rows(rows, specs)


def _kind_of_values(values: Iterable[Any]) -> str:
    kinds = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            kinds.add("bool")
        elif isinstance(value, int):
            kinds.add("int")
        elif isinstance(value, float):
            kinds.add("float")
        elif isinstance(value, decimal.Decimal):
            kinds.add("decimal")
        elif isinstance(value, dt.datetime):
            kinds.add("datetime")
        elif isinstance(value, dt.date):
            kinds.add("date")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            return "other"
        if len(kinds) > 1:
            return "float" if kinds == {"int", "float"} else "other"
    return kinds.pop() if kinds else "other"


def _aware(values: Iterable[Any]) -> bool:
    return any(isinstance(v, dt.datetime) and v.tzinfo is not None for v in values)


def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] + name[-1] in ('""', "``", "[]"):
        return name[1:-1]
    return name


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


_PG_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _pg_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_PG_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()
    return str(value).translate(_PG_ESCAPES)
