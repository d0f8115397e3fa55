"""BIGQUERY: no emulator is installable from the package registries and no BigQuery server was
available, so these tests check the generated SQL, the configuration (service-account key, project)
and the calls the connector makes, against a stub client that keeps tables in memory.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from connector_frames import id_frame

from synth_dagster.connectors import (
    AccessDeniedError,
    LocationExistsError,
    LocationNotFoundError,
    QueryTimeoutError,
    ReadOnlyQueryError,
    create_connector,
)
from synth_dagster.connectors.bigquery import BigQueryConnector, bigquery_type, select_sql, spec_of_field
from synth_dagster.connectors.frames import specs_of_frame
from synth_dagster.domain.connectors import ConnectorConfig

bigquery = pytest.importorskip("google.cloud.bigquery")


class NotFound(Exception):
    pass


class StubClient:
    """Just enough of google.cloud.bigquery.Client, with tables as DataFrames."""

    def __init__(self) -> None:
        self.tables: dict[str, tuple[list, pd.DataFrame]] = {}
        self.queries: list[str] = []
        self.job_configs: list = []

    def _get(self, ref):
        ref = getattr(ref, "ref", ref)
        if ref not in self.tables:
            raise NotFound(ref)
        return ref

    def list_datasets(self, max_results=None, timeout=None):
        names = sorted({ref.split(".")[1] for ref in self.tables})
        return [SimpleNamespace(dataset_id=n) for n in names][:max_results]

    def list_tables(self, dataset, timeout=None):
        prefix = dataset + "."
        return [SimpleNamespace(table_id=r[len(prefix) :]) for r in self.tables if r.startswith(prefix)]

    def get_table(self, ref, timeout=None):
        ref = self._get(ref)
        return SimpleNamespace(ref=ref, schema=self.tables[ref][0])

    def _pages(self, frame: pd.DataFrame, page_size):
        size = page_size or max(len(frame), 1)
        for start in range(0, len(frame), size):
            part = frame.iloc[start : start + size]
            yield [SimpleNamespace(values=lambda r=r: tuple(r)) for r in part.itertuples(index=False)]

    def list_rows(self, table, max_results=None, page_size=None, timeout=None):
        frame = self.tables[self._get(table)][1]
        frame = frame.head(max_results) if max_results is not None else frame
        return SimpleNamespace(pages=self._pages(frame, page_size))

    def query(self, sql, job_config=None):
        self.queries.append(sql)
        self.job_configs.append(job_config)
        if job_config is not None and job_config.dry_run:
            kind = "SELECT" if sql.lstrip().upper().startswith(("SELECT", "WITH")) else "SCRIPT"
            return SimpleNamespace(statement_type=kind)
        ref = sql.split("FROM `", 1)[1].split("`", 1)[0] if "FROM `" in sql else None
        frame = self.tables[ref][1].sample(frac=1.0) if ref else pd.DataFrame({"n": [1]})
        if " LIMIT " in sql:
            frame = frame.head(int(sql.rsplit(" LIMIT ", 1)[1]))

        class Result(list):
            pass

        def result(page_size=None, timeout=None):
            rows = Result(SimpleNamespace(values=lambda r=r: tuple(r)) for r in frame.itertuples(index=False))
            rows.pages = self._pages(frame, page_size)
            rows.schema = [SimpleNamespace(name=c) for c in frame.columns]
            return rows

        return SimpleNamespace(result=result)

    def load_table_from_dataframe(self, frame, ref, job_config=None):
        schema = list(job_config.schema)
        if job_config.write_disposition == "WRITE_TRUNCATE" or ref not in self.tables:
            self.tables[ref] = (schema, frame.reset_index(drop=True))
        else:
            old = self.tables[ref][1]
            self.tables[ref] = (schema, pd.concat([old, frame], ignore_index=True))
        self.job_configs.append(job_config)
        return SimpleNamespace(result=lambda timeout=None: None)

    def copy_table(self, source, target, job_config=None):
        schema, frame = self.tables[source]
        mode = job_config.write_disposition
        if target in self.tables and mode == "WRITE_EMPTY":
            raise RuntimeError("table is not empty")
        if target in self.tables and mode == "WRITE_APPEND":
            frame = pd.concat([self.tables[target][1], frame], ignore_index=True)
        self.tables[target] = (schema, frame)
        self.job_configs.append(job_config)
        return SimpleNamespace(result=lambda timeout=None: None)

    def delete_table(self, ref, not_found_ok=False, timeout=None):
        ref = getattr(ref, "ref", ref)
        if ref not in self.tables and not not_found_ok:
            raise NotFound(ref)
        self.tables.pop(ref, None)


def _connector(access: str = "WRITE_DATA") -> tuple[BigQueryConnector, StubClient]:
    config = ConnectorConfig(type="BIGQUERY", access_type=access, config={"projectId": "proj"})
    stub = StubClient()
    return BigQueryConnector(config, client=stub), stub


def test_sql_and_types() -> None:
    sql = select_sql("proj", "ds", "orders", ["id", "we`ird"], 10, True)
    assert sql == "SELECT `id`, `we\\`ird` FROM `proj.ds.orders` ORDER BY RAND() LIMIT 10"
    assert select_sql("p", "d", "t", ["a"], None, False) == "SELECT `a` FROM `p.d.t`"
    specs = {s.name: s for s in specs_of_frame(id_frame(1).assign(ts=pd.Timestamp("2020-01-01", tz="UTC")))}
    assert bigquery_type(specs["id"]) == "INT64" and bigquery_type(specs["ts"]) == "TIMESTAMP"
    assert spec_of_field("x", "TIMESTAMP", "NULLABLE").tz
    assert spec_of_field("x", "DATETIME", "REQUIRED").dtype == "datetime64[us]"
    assert spec_of_field("x", "INT64", "REQUIRED").dtype == "int64"
    assert spec_of_field("x", "NUMERIC", None).scale == 9


def test_round_trip_on_stub_client() -> None:
    c, stub = _connector()
    assert c.write_data((id_frame(50, start=i * 50) for i in range(3)), "ds.t") == 150
    assert c.locations() == ["ds"] and c.locations("ds") == ["ds.t"]  # the temporary table is gone
    assert [col["dtype"] for col in c.schema("ds.t")] == ["int64", "str"]
    back = c.read_data("ds.t")
    pd.testing.assert_frame_equal(back, id_frame(150))
    chunks = list(c.read_data_chunks("ds.t", chunk_size=40))
    assert [len(ch) for ch in chunks] == [40, 40, 40, 30]
    sample = c.read_data("ds.t", limit=5, shuffle=True)
    assert len(sample) == 5 and "ORDER BY RAND() LIMIT 5" in stub.queries[-1]
    with pytest.raises(LocationExistsError):
        c.write_data(id_frame(1), "ds.t")
    c.write_data(id_frame(2, start=500), "ds.t", if_exists="append")
    assert len(c.read_data("ds.t")) == 152
    c.write_data(id_frame(2, start=900), "ds.t", if_exists="replace")
    assert list(c.read_data("ds.t")["id"]) == [900, 901]
    c.delete_data("ds.t")
    with pytest.raises(LocationNotFoundError):
        c.read_data("ds.t")


def test_query_checks_statement_type_with_a_dry_run() -> None:
    c, stub = _connector()
    assert c.query("SELECT 1 AS n").iloc[0, 0] == 1
    with pytest.raises(ReadOnlyQueryError):
        c.query("DELETE FROM ds.t WHERE true")  # refused by the parser, never sent
    assert not any("DELETE" in q for q in stub.queries)
    protected, _ = _connector("READ_PROTECTED")
    with pytest.raises(AccessDeniedError):
        protected.query("SELECT 1")


def test_every_job_carries_the_query_timeout() -> None:
    config = ConnectorConfig(
        type="BIGQUERY", access_type="WRITE_DATA", config={"projectId": "proj", "queryTimeout": 7}
    )
    stub = StubClient()
    c = BigQueryConnector(config, client=stub)
    c.write_data(id_frame(3), "ds.t")
    c.read_data("ds.t", shuffle=True)
    c.query("SELECT 1 AS n")
    jobs = [j for j in stub.job_configs if j is not None and not getattr(j, "dry_run", False)]
    assert len(jobs) == 4  # load, copy, shuffled read, query
    assert {int(j.job_timeout_ms) for j in jobs} == {7000}


def test_a_job_past_the_timeout_is_cancelled_with_the_package_error() -> None:
    c, stub = _connector("READ_DATA")
    cancelled = []

    def slow_result(timeout=None, **_kwargs):
        raise TimeoutError  # what google's futures raise once `timeout` passes

    stub.query = lambda sql, job_config=None: SimpleNamespace(
        statement_type="SELECT", result=slow_result, cancel=lambda: cancelled.append(True)
    )
    with pytest.raises(QueryTimeoutError, match="query timeout of 600s.*config.queryTimeout"):
        c.query("SELECT 1 AS n")
    assert cancelled == [True]


def test_service_account_key_builds_a_client() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "my-project",
        "private_key_id": "abc",
        "private_key": pem,
        "client_email": "sd@my-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    c = create_connector({"type": "BIGQUERY", "secrets": {"keyFile": json.dumps(info)}})
    assert c.project == "my-project"
    client = c.client  # no network: building a client does not call the API
    assert client.project == "my-project"
    assert "PRIVATE KEY" not in repr(c) and pem not in repr(c.config)
    with pytest.raises(ValueError, match="keyFile"):
        create_connector({"type": "BIGQUERY", "secrets": {"keyFile": "not json"}}).test_connection()
