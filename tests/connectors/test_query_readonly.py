"""query() runs read-only statements only; everything else is refused before it reaches the database."""

from __future__ import annotations

import pytest
from connector_frames import id_frame
from connector_helpers import Family, unique

from synth_dagster.connectors import ReadOnlyQueryError, ensure_read_only

ALLOWED = [
    "SELECT 1",
    "select * from t where a = 1;",
    "SELECT 1 UNION ALL SELECT 2",
    "WITH a AS (SELECT 1 AS x) SELECT * FROM a",
    "DESCRIBE t",
    "EXPLAIN SELECT 1",
    "/* comment */ SELECT 1 -- ; DROP TABLE x",
]
REFUSED = [
    "SELECT 1; DROP TABLE x",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "INSERT INTO t VALUES (1)",
    "DROP TABLE t",
    "TRUNCATE t",
    "CREATE TABLE x AS SELECT 1",
    "ALTER TABLE t ADD COLUMN b INT",
    "MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN DELETE",
    "WITH a AS (DELETE FROM t RETURNING *) SELECT * FROM a",
    "SELECT * INTO t2 FROM t",
    "SELECT * FROM t FOR UPDATE",
    "EXPLAIN ANALYZE DELETE FROM t",
    "EXPLAIN DELETE FROM t",
    "GRANT ALL ON t TO someone",
    "SET search_path = x",
    "VACUUM",
    "CALL p()",
    "",
    "SELEC 1 FROM",
]
DIALECTS = ["POSTGRES", "MYSQL", "SQLITE", "DUCKDB", "SNOWFLAKE", "MSSQL", "ORACLE", "HIVE", "DATABRICKS"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_guard_allows_reads(dialect: str) -> None:
    for sql in ALLOWED:
        ensure_read_only(sql, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_guard_refuses_writes(dialect: str) -> None:
    for sql in REFUSED:
        with pytest.raises(ReadOnlyQueryError):
            ensure_read_only(sql, dialect)


def test_guard_strips_trailing_semicolon() -> None:
    assert ensure_read_only("SELECT 1 ;  ", "POSTGRES") == "SELECT 1"


def _table_sql(family: Family, loc: str) -> str:
    if family.name.startswith("local"):
        return f"read_parquet('{loc}')" if family.name == "local-parquet" else f"'{loc}'"
    schemes = {"s3": "s3", "gcs": "gs", "azure": "abfs"}
    if family.name in schemes:
        return f"read_parquet('{schemes[family.name]}://{loc}')"
    if family.name == "snowflake":
        schema, table = loc.split(".")
        return f'{schema}."{table}"'
    return loc


def test_query_is_read_only_on_the_database(query_family: Family, cleanup, monkeypatch) -> None:
    family = query_family
    c = family.connector()
    name = unique()
    loc = family.location(name)
    cleanup(c, loc)
    c.write_data(id_frame(3), loc)
    if family.name == "local-parquet":
        monkeypatch.chdir(c._base)  # DuckDB resolves relative paths from the base path too
    target = _table_sql(family, loc)
    result = c.query(f"SELECT count(*) AS n FROM {target}")
    assert int(result.iloc[0, 0]) == 3

    for sql in (
        f"UPDATE {target} SET id = 0",
        f"DROP TABLE {target}",
        f"INSERT INTO {target} (id) VALUES (99)",
        f"SELECT 1; DROP TABLE {target}",
        f"DELETE FROM {target}",
    ):
        with pytest.raises(ReadOnlyQueryError):
            c.query(sql)
    back = c.read_data(loc)
    assert sorted(back["id"]) == [0, 1, 2]  # unchanged, still there
