"""BIGQUERY through google-cloud-bigquery.

No BigQuery emulator is installable from the package registries, so the tests cover the SQL this
module generates, the configuration (service-account key, project) and the calls it makes on a stub
client; no BigQuery server was available to run them against.

Locations are `dataset.table` in the key file's project (or `config.projectId`). Reads without
shuffle use the free `list_rows` API page by page; `shuffle` runs `ORDER BY RAND()` as a query.
Writes load every chunk into a temporary table, then one copy job moves it into place (atomic:
WRITE_EMPTY for "fail", WRITE_TRUNCATE for "replace", WRITE_APPEND for "append").
`query()` is checked twice: by the SQL guard, then by a dry run that must report a SELECT.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import pandas as pd

from synth_dagster.connectors.base import Connector
from synth_dagster.connectors.drivers import require
from synth_dagster.connectors.errors import LocationExistsError, LocationNotFoundError, ReadOnlyQueryError
from synth_dagster.connectors.frames import (
    ColumnSpec,
    empty_frame,
    frame_from_rows,
    iter_frames,
    rechunk,
    specs_of_frame,
)
from synth_dagster.connectors.sql.connector import TMP_PREFIX, frame_from_values
from synth_dagster.domain.connectors import ConnectorConfig, IfExists

_GRACE = 10.0  # seconds the client waits beyond the job timeout, so BigQuery's own error wins
_SCOPES = ["https://www.googleapis.com/auth/bigquery", "https://www.googleapis.com/auth/cloud-platform"]

_KINDS = {
    "INTEGER": "int",
    "INT64": "int",
    "FLOAT": "float",
    "FLOAT64": "float",
    "NUMERIC": "decimal",
    "BIGNUMERIC": "decimal",
    "BOOLEAN": "bool",
    "BOOL": "bool",
    "DATE": "date",
    "DATETIME": "datetime",
    "TIMESTAMP": "datetime",
    "TIME": "time",
    "STRING": "string",
    "BYTES": "bytes",
}


def quote(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def bigquery_type(spec: ColumnSpec) -> str:
    """The BigQuery column type `write_data` creates for a frame column."""
    if spec.kind == "datetime":
        return "TIMESTAMP" if spec.tz else "DATETIME"
    if spec.kind == "decimal":
        return "NUMERIC" if (spec.scale or 0) <= 9 else "BIGNUMERIC"
    return {
        "int": "INT64",
        "float": "FLOAT64",
        "bool": "BOOL",
        "date": "DATE",
        "time": "TIME",
        "bytes": "BYTES",
    }.get(spec.kind, "STRING")


def spec_of_field(name: str, field_type: str, mode: str | None, scale: int | None = None) -> ColumnSpec:
    t = str(field_type).upper()
    kind = _KINDS.get(t, "other")
    if kind == "decimal" and scale is None:
        scale = 9 if t == "NUMERIC" else 38
    return ColumnSpec(
        name,
        kind,
        nullable=str(mode or "NULLABLE").upper() != "REQUIRED",
        tz=t == "TIMESTAMP",
        scale=scale if kind == "decimal" else None,
        source_type=t,
    )


def select_sql(
    project: str, dataset: str, table: str, columns: list[str], limit: int | None, shuffle: bool
) -> str:
    """The SELECT behind a shuffled read (limit and shuffle done by BigQuery)."""
    target = quote(f"{project}.{dataset}.{table}")
    sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {target}"
    if shuffle:
        sql += " ORDER BY RAND()"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql


class BigQueryConnector(Connector):
    """Google BigQuery: `secrets.keyFile` is the service-account JSON key."""

    sql_dialect = "BIGQUERY"

    def __init__(self, config: ConnectorConfig, client: Any = None) -> None:
        super().__init__(config)
        self._client = client  # injectable for tests

    # -------------------------------------------------------------- client

    def key_info(self) -> dict[str, Any] | None:
        raw = self.config.secret_values().get("keyFile")
        if not raw:
            return None
        try:
            info = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(f"{self.label}: secrets.keyFile must be the service-account JSON key") from None
        if not isinstance(info, dict) or "client_email" not in info:
            raise ValueError(f"{self.label}: secrets.keyFile is not a service-account key (no client_email)")
        return info

    @property
    def project(self) -> str:
        info = self.key_info() or {}
        project = self.config.config.get("projectId") or info.get("project_id")
        if not project:
            raise ValueError(
                f"{self.label}: no project: set config.projectId or use a key file with project_id"
            )
        return str(project)

    @property
    def client(self) -> Any:
        if self._client is None:
            bigquery = require(
                "google.cloud.bigquery",
                connector_type="BIGQUERY",
                extra="bigquery",
                package="google-cloud-bigquery",
            )
            credentials = None
            info = self.key_info()
            if info is not None:
                service_account = require(
                    "google.oauth2.service_account",
                    connector_type="BIGQUERY",
                    extra="bigquery",
                    package="google-auth",
                )
                credentials = service_account.Credentials.from_service_account_info(info, scopes=_SCOPES)
            self._client = bigquery.Client(
                project=self.project, credentials=credentials, location=self.config.config.get("location")
            )
        return self._client

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()
        self._client = None

    def _job_config(self, kind: str, **kwargs: Any) -> Any:
        """A job configuration whose job BigQuery cancels past the query timeout."""
        bigquery = require(
            "google.cloud.bigquery",
            connector_type="BIGQUERY",
            extra="bigquery",
            package="google-cloud-bigquery",
        )
        return getattr(bigquery, kind)(job_timeout_ms=max(1, int(self.query_timeout * 1000)), **kwargs)

    def _wait(self, job: Any, operation: str, **kwargs: Any) -> Any:
        """The job's result; past the query timeout (and a grace for the server's own) it is cancelled."""
        try:
            return job.result(timeout=self.query_timeout + _GRACE, **kwargs)
        except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError since Python 3.11
            with contextlib.suppress(Exception):
                job.cancel()
            raise self.timeout_error(operation) from None

    def _test_connection(self) -> None:
        list(self.client.list_datasets(max_results=1, timeout=self.timeout))

    # -------------------------------------------------------------- names

    def _split(self, location: str) -> tuple[str, str]:
        parts = [p.strip("`") for p in location.split(".")]
        if len(parts) == 3 and parts[0] == self.project:
            parts = parts[1:]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{self.label}: location {location!r} must be 'dataset.table'")
        return parts[0], parts[1]

    def _ref(self, dataset: str, table: str) -> str:
        return f"{self.project}.{dataset}.{table}"

    def _table(self, location: str) -> Any:
        dataset, table = self._split(location)
        try:
            return self.client.get_table(self._ref(dataset, table), timeout=self.timeout)
        except Exception as exc:
            if type(exc).__name__ == "NotFound":
                raise LocationNotFoundError(f"{self.label}: table {location!r} not found") from None
            raise

    def _specs(self, table: Any) -> list[ColumnSpec]:
        return [spec_of_field(f.name, f.field_type, f.mode, getattr(f, "scale", None)) for f in table.schema]

    # -------------------------------------------------------------- interface

    def _locations(self, prefix: str) -> list[str]:
        if not prefix:
            return sorted(d.dataset_id for d in self.client.list_datasets(timeout=self.timeout))
        dataset, _, table_prefix = prefix.partition(".")
        try:
            tables = list(self.client.list_tables(f"{self.project}.{dataset}", timeout=self.timeout))
        except Exception as exc:
            if type(exc).__name__ == "NotFound":
                raise LocationNotFoundError(f"{self.label}: dataset {dataset!r} not found") from None
            raise
        return sorted(
            f"{dataset}.{t.table_id}"
            for t in tables
            if t.table_id.startswith(table_prefix) and not t.table_id.startswith(TMP_PREFIX)
        )

    def _schema(self, location: str) -> list[dict[str, Any]]:
        return [s.as_schema() for s in self._specs(self._table(location))]

    def _read_chunks(
        self, location: str, limit: int | None, shuffle: bool, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        table = self._table(location)
        specs = self._specs(table)
        if limit == 0:
            yield empty_frame(specs)
            return
        if shuffle:
            dataset, name = self._split(location)
            sql = select_sql(self.project, dataset, name, [s.name for s in specs], limit, shuffle)
            job = self.client.query(sql, job_config=self._job_config("QueryJobConfig"))
            rows_iter = self._wait(job, "read data", page_size=chunk_size)
        else:
            rows_iter = self.client.list_rows(
                table, max_results=limit, page_size=chunk_size, timeout=self.query_timeout
            )
        pages = (frame_from_rows([tuple(row.values()) for row in page], specs) for page in rows_iter.pages)
        yield from rechunk(pages, chunk_size, specs)

    def _query(self, sql: str) -> pd.DataFrame:
        bigquery = require(
            "google.cloud.bigquery",
            connector_type="BIGQUERY",
            extra="bigquery",
            package="google-cloud-bigquery",
        )
        dry = self.client.query(sql, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
        if str(getattr(dry, "statement_type", "SELECT")).upper() != "SELECT":
            raise ReadOnlyQueryError(
                f"{self.label}: query() only runs SELECT statements, got {dry.statement_type}"
            )
        result = self._wait(
            self.client.query(sql, job_config=self._job_config("QueryJobConfig")), "run the query"
        )
        names = [f.name for f in result.schema]
        return frame_from_values([tuple(r.values()) for r in result], names)

    def _delete(self, location: str) -> None:
        table = self._table(location)
        self.client.delete_table(table, timeout=self.timeout)

    def schema_fields(self, specs: list[ColumnSpec]) -> list[Any]:
        bigquery = require(
            "google.cloud.bigquery",
            connector_type="BIGQUERY",
            extra="bigquery",
            package="google-cloud-bigquery",
        )
        return [
            bigquery.SchemaField(s.name, bigquery_type(s), mode="NULLABLE" if s.nullable else "REQUIRED")
            for s in specs
        ]

    def _write(
        self, data: pd.DataFrame | Iterable[pd.DataFrame], location: str, if_exists: IfExists, chunk_size: int
    ) -> int:
        dataset, name = self._split(location)
        chunks = iter_frames(data, chunk_size)
        first = next(chunks, None)
        if first is None:
            raise ValueError(f"{self.label}: write_data got no frames to write")
        target = self._ref(dataset, name)
        try:
            existing = self.client.get_table(target, timeout=self.timeout)
        except Exception as exc:
            if type(exc).__name__ != "NotFound":
                raise
            existing = None
        if existing is not None and if_exists is IfExists.FAIL:
            raise LocationExistsError(
                f"{self.label}: table {location!r} already exists; pass if_exists='replace' or 'append'"
            )
        specs = (
            self._specs(existing)
            if existing is not None and if_exists is IfExists.APPEND
            else specs_of_frame(first)
        )
        tmp = self._ref(dataset, f"{TMP_PREFIX}{uuid.uuid4().hex[:12]}")
        schema = self.schema_fields(specs)
        total = 0
        try:
            for i, frame in enumerate(chain([first], chunks)):
                config = self._job_config(
                    "LoadJobConfig",
                    schema=schema,
                    write_disposition="WRITE_TRUNCATE" if i == 0 else "WRITE_APPEND",
                )
                self._wait(self.client.load_table_from_dataframe(frame, tmp, job_config=config), "write data")
                total += len(frame)
            disposition = {
                IfExists.FAIL: "WRITE_EMPTY",
                IfExists.REPLACE: "WRITE_TRUNCATE",
                IfExists.APPEND: "WRITE_APPEND",
            }[if_exists]
            copy = self._job_config("CopyJobConfig", write_disposition=disposition)
            self._wait(self.client.copy_table(tmp, target, job_config=copy), "write data")
        finally:
            self.client.delete_table(tmp, not_found_ok=True)
        return total
