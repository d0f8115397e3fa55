"""Hostile SQL against query(): refused with the package's own errors, nothing happens on the server.

The corpus runs against the real PostgreSQL and MariaDB of this machine (skipped when absent).
After every case no server file has appeared and a second real session is still alive. The
control tests show that the servers do run what the guard refuses (the file appears, the session
dies) when the guard is skipped, so the checks above them can fail. Other dialects are checked
through ensure_read_only directly, DuckDB through a storage connector on local files.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from connector_helpers import MARIA, PG, reachable, unique

from synth_dagster.connectors import (
    AccessDeniedError,
    Connector,
    ConnectorError,
    QueryTimeoutError,
    ReadOnlyQueryError,
    create_connector,
    ensure_read_only,
)
from synth_dagster.domain.connectors import ConnectorConfig

TIMEOUT = 2  # config.queryTimeout of the connectors under attack: a sleep would hit it
WHAT_TO_DO = re.compile(r"remove|send |use |check its syntax|pass one", re.IGNORECASE)
URLS = {
    "postgres": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


@dataclass(frozen=True)
class Case:
    id: str
    sql: str  # {path}: a server file that must not appear; {pid}: the other session; {oid}: a large object
    refused: str  # what the message must name


CASES = [
    # executable comments, in several spellings
    Case("exec-comment", "SELECT 1 AS a /*! INTO OUTFILE '{path}' */", r"executable comment"),
    Case("exec-comment-version", "SELECT 1 AS a /*!50000 INTO OUTFILE '{path}' */", r"'/\*!50000'"),
    Case("exec-comment-nospace", "SELECT 1 AS a /*!INTO OUTFILE '{path}'*/", r"executable comment"),
    Case("mariadb-comment", "SELECT 1 AS a /*M! INTO DUMPFILE '{path}' */", r"'/\*M!'"),
    Case("mariadb-comment-version", "SELECT 1 AS a /*M!100000 INTO DUMPFILE '{path}' */", r"/\*M!100000"),
    Case("exec-comment-lower-m", "SELECT 1 AS a /*m!100000 INTO DUMPFILE '{path}' */", r"executable comment"),
    Case("exec-comment-sleep", "SELECT /*!50000 SLEEP(62), */ 1 AS a", r"executable comment"),
    Case("exec-comment-after-dashes", "SELECT 1 AS a --/*!50000 1 INTO OUTFILE '{path}'*/", r"executable"),
    # SELECT ... INTO OUTFILE / DUMPFILE without a comment
    Case("into-outfile", "SELECT 1 AS a INTO OUTFILE '{path}'", r"INTO OUTFILE writes a file"),
    Case("into-dumpfile", "SELECT 1 AS a INTO DUMPFILE '{path}'", r"INTO DUMPFILE writes a file"),
    Case("into-outfile-subquery", "SELECT * FROM (SELECT 1 AS a) t INTO OUTFILE '{path}'", r"OUTFILE"),
    # PostgreSQL: sessions, server files, large objects, settings, locks, SQL in strings
    Case("terminate", "SELECT pg_terminate_backend({pid})", r"pg_terminate_backend\(\).*administers"),
    Case("cancel", "SELECT pg_cancel_backend({pid})", r"pg_cancel_backend"),
    Case("terminate-nested", "SELECT COALESCE(NULL, pg_terminate_backend({pid})) AS x", r"terminate"),
    Case("terminate-in-where", "SELECT 1 AS a WHERE pg_terminate_backend({pid}) IS NULL", r"terminate"),
    Case("lo-export", "SELECT lo_export({oid}, '{path}')", r"lo_export\(\).*files"),
    Case("lo-export-qualified", "SELECT pg_catalog.lo_export({oid}, '{path}')", r"pg_catalog\.lo_export"),
    Case("lo-export-quoted", "SELECT pg_catalog.\"lo_export\"({oid}, '{path}')", r"lo_export"),
    Case("lo-export-upper-quoted", "SELECT \"LO_EXPORT\"({oid}, '{path}')", r"LO_EXPORT"),
    Case("lo-from-bytea", "SELECT lo_from_bytea(0, 'x') AS o", r"lo_from_bytea"),
    Case("lo-unlink-cte", "WITH x AS (SELECT lo_unlink({oid}) AS u) SELECT * FROM x", r"lo_unlink"),
    Case("read-file", "SELECT pg_read_file('/etc/hostname') AS f", r"pg_read_file"),
    Case("read-binary-file", "SELECT pg_read_binary_file('/etc/hostname') AS f", r"pg_read_binary_file"),
    Case("ls-dir", "SELECT * FROM pg_ls_dir('/tmp') AS f", r"pg_ls_dir"),
    Case("ls-waldir", "SELECT * FROM pg_ls_waldir()", r"pg_ls_waldir"),
    Case("stat-file", "SELECT pg_stat_file('/etc/hostname')", r"pg_stat_file"),
    Case("reload-conf", "SELECT pg_reload_conf()", r"pg_reload_conf"),
    Case("rotate-logfile", "SELECT pg_rotate_logfile()", r"pg_rotate_logfile"),
    Case("switch-wal", "SELECT pg_switch_wal()", r"pg_switch_wal"),
    Case("backup-start", "SELECT pg_backup_start('x')", r"pg_backup_start"),
    Case("replication-slot", "SELECT pg_create_logical_replication_slot('s', 'x')", r"replication_slot"),
    Case("advisory-lock", "SELECT pg_advisory_lock(42)", r"pg_advisory_lock\(\).*locks"),
    Case("try-advisory-lock", "SELECT pg_try_advisory_xact_lock(42)", r"pg_try_advisory_xact_lock"),
    Case("set-config", "SELECT set_config('statement_timeout', '0', false)", r"set_config"),
    Case("nextval", "SELECT nextval('any_sequence')", r"nextval\(\).*sequence"),
    Case("setval", "SELECT setval('any_sequence', 1)", r"setval"),
    Case("notify", "SELECT pg_notify('channel', 'x')", r"pg_notify"),
    Case("dblink", "SELECT * FROM dblink('dbname=test', 'SELECT 1') AS t(x int)", r"dblink"),
    Case("query-to-xml", "SELECT query_to_xml('SELECT pg_sleep(62)', true, true, '')", r"query_to_xml"),
    Case("query-to-xml-built", "SELECT query_to_xml(chr(83) || 'ELECT 1', true, true, '')", r"query_to_xml"),
    Case("cursor-to-xml", "SELECT cursor_to_xml('c', 1, true, true, '')", r"cursor_to_xml"),
    Case("table-to-xml", "SELECT table_to_xml('pg_class', true, true, '')", r"table_to_xml"),
    Case("ts-stat", "SELECT * FROM ts_stat('SELECT 1')", r"ts_stat"),
    Case("file-write", "SELECT pg_file_write('{path}', 'x', false)", r"pg_file_write"),
    Case("pg-sleep", "SELECT pg_sleep(62)", r"pg_sleep\(\).*sleeps"),
    Case("pg-sleep-for", "SELECT pg_sleep_for('62 seconds')", r"pg_sleep_for"),
    Case("pg-sleep-cte", "WITH w AS (SELECT pg_sleep(62) AS s) SELECT * FROM w", r"pg_sleep"),
    Case("pg-sleep-exists", "SELECT 1 AS a WHERE EXISTS (SELECT pg_sleep(62))", r"pg_sleep"),
    Case("pg-sleep-cast", "SELECT CAST(pg_sleep(62) AS text) AS s", r"pg_sleep"),
    # MariaDB / MySQL: sleeps, locks, files, replication waits, UDFs
    Case("sleep", "SELECT SLEEP(62)", r"SLEEP\(\).*sleeps"),
    Case("sleep-backticks", "SELECT `SLEEP`(62)", r"SLEEP"),
    Case("sleep-comment-gap", "SELECT sleep/**/(62)", r"sleep"),
    Case("sleep-subquery", "SELECT * FROM (SELECT SLEEP(62) AS s) t", r"SLEEP"),
    Case("sleep-dashes", "SELECT 1 --sleep(62)", r"sleep"),
    Case("sleep-in-comment", "SELECT 1 AS a /* sleep(62) */", r"sleep\(\) \(in the text"),
    Case("benchmark", "SELECT BENCHMARK(100000000, MD5('x'))", r"BENCHMARK"),
    Case("get-lock", "SELECT GET_LOCK('synth', 10)", r"GET_LOCK\(\).*locks"),
    Case("release-all-locks", "SELECT RELEASE_ALL_LOCKS()", r"RELEASE_ALL_LOCKS"),
    Case("load-file", "SELECT LOAD_FILE('/etc/hostname') AS f", r"LOAD_FILE"),
    Case("master-pos-wait", "SELECT MASTER_POS_WAIT('log', 4, 62)", r"MASTER_POS_WAIT"),
    Case("source-pos-wait", "SELECT SOURCE_POS_WAIT('log', 4, 62)", r"SOURCE_POS_WAIT"),
    Case("gtid-wait", "SELECT MASTER_GTID_WAIT('0-1-1', 62)", r"MASTER_GTID_WAIT"),
    Case("sys-exec", "SELECT sys_exec('touch {path}')", r"sys_exec\(\).*programs"),
    Case("sys-eval-qualified", "SELECT mysql.sys_eval('id')", r"mysql\.sys_eval"),
    # hints and statements that lift the timeout, stacked statements
    Case("hint-max-execution-time", "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1 AS a", r"optimizer hint"),
    Case("hint-set-var", "SELECT /*+ SET_VAR(max_statement_time=0) */ 1 AS a", r"optimizer hint"),
    Case("set-statement", "SET STATEMENT max_statement_time=0 FOR SELECT 1", r"not allowed|SET"),
    Case("set-timeout", "SET statement_timeout = 0", r"SET statements are not allowed"),
    Case("stacked", "SELECT 1; SELECT pg_terminate_backend({pid})", r"exactly one statement|terminate"),
    Case("stacked-drop", "SELECT 1; DROP TABLE x", r"exactly one statement, got 2"),
    Case("stacked-commit", "SELECT 1; COMMIT; SELECT lo_unlink({oid})", r"exactly one statement|lo_unlink"),
    Case("explain-analyze", "EXPLAIN ANALYZE SELECT pg_sleep(62)", r"EXPLAIN ANALYZE|pg_sleep"),
    Case("do-block", "DO $$ BEGIN PERFORM pg_sleep(62); END $$", r"not allowed|could not be parsed|sleep"),
    Case("copy-to-file", "COPY (SELECT 1) TO '{path}'", r"COPY statements are not allowed"),
]
assert len(CASES) >= 25


@dataclass
class Server:
    name: str
    connector: Connector
    engine: sa.Engine
    victim: sa.Connection  # a second real session, which must survive every case
    pid: int
    oid: int  # a large object on PostgreSQL (1 on MariaDB)
    path: str  # a server file that must never appear

    def sql(self, case: Case) -> str:
        return case.sql.format(path=self.path, pid=self.pid, oid=self.oid)


def _config(name: str, **extra: Any) -> dict[str, Any]:
    if name == "postgres":
        return {"type": "POSTGRES", "access_type": "READ_DATA", "config": {**PG, **extra}}
    return {"type": "MARIADB", "access_type": "READ_DATA", "config": {**MARIA, **extra}}


def _require(name: str) -> None:
    port = 5432 if name == "postgres" else 3306
    if not reachable("127.0.0.1", port):
        pytest.skip(f"no {'PostgreSQL' if name == 'postgres' else 'MariaDB'} on 127.0.0.1:{port}")


@pytest.fixture(scope="module", params=["postgres", "mariadb"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    name = request.param
    _require(name)
    engine = sa.create_engine(URLS[name])
    oid = 1
    if name == "postgres":
        with engine.begin() as conn:
            oid = conn.exec_driver_sql("SELECT lo_from_bytea(0, 'synth secret')").scalar()
    victim = engine.connect()
    pid = victim.exec_driver_sql(
        "SELECT pg_backend_pid()" if name == "postgres" else "SELECT CONNECTION_ID()"
    ).scalar()
    connector = create_connector(_config(name, queryTimeout=TIMEOUT))
    path = f"/tmp/synth_hostile_{uuid.uuid4().hex}"
    yield Server(name, connector, engine, victim, int(pid), int(oid), path)
    connector.close()
    victim.close()
    if name == "postgres":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT lo_unlink({int(oid)})")
    engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_query_is_refused(server: Server, case: Case) -> None:
    start = time.monotonic()
    with pytest.raises(ReadOnlyQueryError) as info:
        server.connector.query(server.sql(case))
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert re.search(case.refused, message, re.IGNORECASE), message
    assert WHAT_TO_DO.search(message), message
    assert elapsed < 1.0  # refused before it reached the server, far below the timeout
    assert not os.path.exists(server.path)
    assert server.victim.exec_driver_sql("SELECT 1").scalar() == 1  # the other session lives


# ---------------------------------------------------------------- controls: the bypasses are real


@pytest.mark.parametrize("name", ["postgres", "mariadb"])
def test_control_the_server_writes_the_file_the_guard_refuses(name: str) -> None:
    """Without the guard the server writes the file: the no-file checks above can fail."""
    _require(name)
    path = f"/tmp/synth_control_{uuid.uuid4().hex}"
    engine = sa.create_engine(URLS[name])
    c = create_connector(_config(name, queryTimeout=TIMEOUT))
    oid = None
    try:
        if name == "postgres":
            with engine.begin() as conn:
                oid = conn.exec_driver_sql("SELECT lo_from_bytea(0, 'synth secret')").scalar()
            sql = f"SELECT lo_export({oid}, '{path}')"
        else:
            sql = f"SELECT 1 AS a /*!50000 INTO OUTFILE '{path}' */"
        with pytest.raises(ReadOnlyQueryError):
            c.query(sql)
        # the layer under the guard, read-only transaction and all (INTO OUTFILE returns no rows)
        with contextlib.suppress(ConnectorError), c._errors("run the query"):
            c._query(sql)
        if not os.path.exists(path):
            pytest.skip("the server's files are not visible here (another /tmp or secure_file_priv)")
    finally:
        if oid is not None:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"SELECT lo_unlink({oid})")
        if os.path.exists(path):
            os.remove(path)
        c.close()
        engine.dispose()


@pytest.fixture
def _pg_victim() -> Iterator[tuple[sa.Connection, int]]:
    _require("postgres")
    engine = sa.create_engine(URLS["postgres"])
    victim = engine.connect()
    yield victim, int(victim.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    victim.invalidate()
    engine.dispose()


def test_control_pg_terminate_backend_kills_a_session_in_a_read_only_transaction(_pg_victim) -> None:
    victim, pid = _pg_victim
    c = create_connector(_config("postgres", queryTimeout=TIMEOUT))
    with pytest.raises(ReadOnlyQueryError, match="pg_terminate_backend"):
        c.query(f"SELECT pg_terminate_backend({pid})")
    assert victim.exec_driver_sql("SELECT 1").scalar() == 1
    with c._errors("run the query"):
        assert bool(c._query(f"SELECT pg_terminate_backend({pid}) AS t").iloc[0, 0])
    with pytest.raises(sa.exc.OperationalError):
        victim.exec_driver_sql("SELECT 1")
    c.close()


# ---------------------------------------------------------------- timeouts

_SLOW = {
    "postgres": "SELECT count(*) AS n FROM generate_series(1, 10000000000)",
    "mariadb": "SELECT count(*) AS n FROM test.seq_1_to_100000 a, test.seq_1_to_100000 b",
}


@pytest.mark.parametrize("name", ["postgres", "mariadb"])
def test_a_slow_query_stops_at_the_configured_timeout(name: str) -> None:
    _require(name)
    c = create_connector(_config(name, queryTimeout=1))
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"query timeout of 1s.*raise config\.queryTimeout"):
        c.query(_SLOW[name])
    assert time.monotonic() - start < 4
    assert int(c.query("SELECT 1 AS a").iloc[0, 0]) == 1  # the connector is still usable
    c.close()


@pytest.mark.parametrize("name", ["postgres", "mariadb"])
def test_reads_and_writes_are_bounded_too(name: str) -> None:
    """read_data of a slow view, and a write blocked by another session's lock, stop at the timeout."""
    _require(name)
    schema = "public" if name == "postgres" else "test"
    view, table = unique("v"), unique("t")
    engine = sa.create_engine(URLS[name])
    c = create_connector({**_config(name, queryTimeout=1), "access_type": "WRITE_DATA"})
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE VIEW {schema}.{view} AS {_SLOW[name]}")
    c.write_data(pd.DataFrame({"id": [1, 2]}), f"{schema}.{table}")
    locker = engine.connect()
    try:
        assert [col["name"] for col in c.schema(f"{schema}.{view}")] == ["n"]
        with pytest.raises(QueryTimeoutError, match="could not read data"):
            c.read_data(f"{schema}.{view}")
        if name == "postgres":
            locker.exec_driver_sql(f"LOCK TABLE {schema}.{table} IN ACCESS EXCLUSIVE MODE")
        else:
            locker.exec_driver_sql(f"LOCK TABLES {schema}.{table} WRITE")
        start = time.monotonic()
        with pytest.raises(QueryTimeoutError, match="query timeout of 1s"):
            c.write_data(pd.DataFrame({"id": [3]}), f"{schema}.{table}", if_exists="append")
        assert time.monotonic() - start < 6
    finally:
        if name == "postgres":
            locker.rollback()
        else:
            locker.exec_driver_sql("UNLOCK TABLES")
        locker.close()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {schema}.{view}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{table}")
        c.close()
        engine.dispose()


def test_sqlite_is_interrupted_at_the_timeout(tmp_path) -> None:
    c = create_connector(
        {
            "type": "SQLITE",
            "access_type": "READ_DATA",
            "config": {"database": str(tmp_path / "db"), "queryTimeout": 1},
        }
    )
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError, match="query timeout of 1s"):
        c.query("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
    assert time.monotonic() - start < 4
    assert int(c.query("SELECT 1 AS a").iloc[0, 0]) == 1
    c.close()


def test_drivers_get_the_query_timeout() -> None:
    """Where no server is here: the connect arguments and session settings each driver gets."""
    from synth_dagster.connectors.certs import CertificateFiles
    from synth_dagster.connectors.sql import sessions
    from synth_dagster.connectors.sql.dialects import FLAVORS, connect_args

    def args(type_: str, **config: Any) -> dict[str, Any]:
        cfg = ConnectorConfig(type=type_, config={"queryTimeout": 7.5, **config})
        return connect_args(cfg, FLAVORS[cfg.type], 10, CertificateFiles())

    assert args("MSSQL", host="h")["timeout"] == 8
    assert args("HIVE", host="h")["configuration"] == {"hive.query.timeout.seconds": "8s"}
    assert args("DATABRICKS", host="h", httpPath="/p")["session_configuration"] == {"STATEMENT_TIMEOUT": "8"}
    oracle = SimpleNamespace(call_timeout=0)
    sessions._oracle(oracle, 7.5)
    assert oracle.call_timeout == 7500

    class FakeMySQL:
        def __init__(self, server: str) -> None:
            self.server, self.statements = server, []
            self._read_timeout, self._sock = 1, SimpleNamespace(settimeout=lambda t: None)

        def get_server_info(self) -> str:
            return self.server

        def cursor(self) -> Any:
            return SimpleNamespace(execute=self.statements.append, close=lambda: None)

    mysql, maria = FakeMySQL("8.0.36"), FakeMySQL("10.11.19-MariaDB")
    sessions._mysql(mysql, 7.5)
    sessions._mysql(maria, 7.5)
    assert mysql.statements == ["SET SESSION max_execution_time = 7500"]
    assert maria.statements == ["SET SESSION max_statement_time = 7.500"]
    assert mysql._read_timeout == 7.5 + sessions.SOCKET_GRACE


def test_snowflake_sessions_get_the_query_timeout(monkeypatch) -> None:
    sf = pytest.importorskip("snowflake.connector")
    seen: dict[str, Any] = {}
    executed: list[dict[str, Any]] = []

    class Cursor:
        def execute(self, sql: str, params: Any = None, **kwargs: Any) -> Cursor:
            executed.append(kwargs)
            return self

        def fetchall(self) -> list:
            return [(1,)]

    monkeypatch.setattr(sf, "connect", lambda **kw: seen.update(kw) or SimpleNamespace(cursor=Cursor))
    c = create_connector(
        {"type": "SNOWFLAKE", "config": {"account": "a", "username": "u", "queryTimeout": 30}}
    )
    c.test_connection()
    assert seen["session_parameters"] == {"STATEMENT_TIMEOUT_IN_SECONDS": 30}
    assert executed == [{"timeout": 30}]


def test_query_timeout_setting() -> None:
    base = {"type": "POSTGRES", "config": {"host": "h"}}
    assert create_connector(base).query_timeout == 600
    snake = {"type": "POSTGRES", "config": {"host": "h", "query_timeout": 30}}
    assert create_connector(snake).query_timeout == 30
    for bad in (0, -1, "soon", True, 10**6, float("nan")):
        with pytest.raises(ValueError, match=r"config\.queryTimeout must be a number of seconds"):
            ConnectorConfig.model_validate({"type": "POSTGRES", "config": {"host": "h", "queryTimeout": bad}})


# ---------------------------------------------------------------- benign queries still work

BENIGN = [
    "SELECT a.x, b.y FROM (SELECT 1 AS x) a JOIN (SELECT 1 AS x, 2 AS y) b ON a.x = b.x",
    "WITH c AS (SELECT 1 AS n UNION ALL SELECT 2) SELECT sum(n) AS s FROM c",
    "SELECT n, row_number() OVER (ORDER BY n) AS r FROM (SELECT 1 AS n UNION ALL SELECT 2) t",
    "SELECT count(*) AS c FROM information_schema.tables",
    "SELECT now() AS t",
    "SELECT 'pg_sleep and SLEEP are only words here' AS s",
    "SELECT 1 AS a /* a comment */ -- and another",
]
BENIGN_BY_SERVER = {
    "postgres": ["SELECT pg_typeof(1) AS t", "SELECT pg_backend_pid() AS p", "SHOW statement_timeout"],
    "mariadb": ["SHOW TABLES FROM mysql", "DESCRIBE mysql.user", "SELECT @@max_statement_time AS m"],
}


def test_benign_queries_still_work(server: Server) -> None:
    for sql in [*BENIGN, *BENIGN_BY_SERVER[server.name]]:
        assert len(server.connector.query(sql)) >= 1, sql
    # and the session carries the configured timeout
    if server.name == "postgres":
        assert server.connector.query("SHOW statement_timeout").iloc[0, 0] == f"{TIMEOUT}s"
    else:
        assert float(server.connector.query("SELECT @@max_statement_time AS m").iloc[0, 0]) == TIMEOUT


# ---------------------------------------------------------------- other dialects, no server

OTHER_DIALECTS = [
    ("MSSQL", "SELECT * FROM OPENROWSET('SQLNCLI', 'server=x', 'SELECT 1')", "OPENROWSET"),
    ("MSSQL", "SELECT * FROM OPENQUERY(linked, 'SELECT 1')", "OPENQUERY"),
    ("MSSQL", "SELECT * FROM OPENDATASOURCE('SQLNCLI', 'x').db.dbo.t", "OPENDATASOURCE"),
    ("MSSQL", "SELECT master.dbo.xp_cmdshell('dir')", r"master\.dbo\.xp_cmdshell"),
    ("MSSQL", "SELECT sp_helptext('x')", "sp_helptext"),
    ("MSSQL", "WAITFOR DELAY '00:01:02'", "not allowed|could not be parsed"),
    ("ORACLE", "SELECT DBMS_PIPE.RECEIVE_MESSAGE('a', 62) FROM dual", r"DBMS_PIPE\.RECEIVE_MESSAGE"),
    ("ORACLE", "SELECT SYS.DBMS_LOCK.SLEEP(62) FROM dual", "DBMS_LOCK"),
    ("ORACLE", "SELECT UTL_HTTP.REQUEST('http://x') FROM dual", "UTL_HTTP"),
    ("ORACLE", "SELECT utl_file.fopen('D', 'f', 'w') FROM dual", "utl_file"),
    ("ORACLE", "SELECT s.NEXTVAL FROM dual", "nextval"),
    ("SQLITE", "SELECT load_extension('/tmp/evil.so')", "load_extension"),
    ("SQLITE", "SELECT readfile('/etc/passwd')", "readfile"),
    ("SQLITE", "SELECT writefile('/tmp/x', 'y')", "writefile"),
    ("SQLITE", "SELECT edit('x', 'vi')", r"edit\(\)"),
    ("SQLITE", "SELECT fts3_tokenizer('simple')", "fts3_tokenizer"),
    ("HIVE", "SELECT reflect('java.lang.Runtime', 'getRuntime')", "reflect"),
    ("DATABRICKS", "SELECT java_method('java.lang.System', 'exit', 0)", "java_method"),
    ("SNOWFLAKE", "SELECT SYSTEM$WAIT(62)", r"SYSTEM\$WAIT"),
    ("SNOWFLAKE", "SELECT SYSTEM$CANCEL_ALL_QUERIES(1)", r"SYSTEM\$CANCEL_ALL_QUERIES"),
    ("SNOWFLAKE", "SELECT seq.NEXTVAL", "nextval"),
    ("BIGQUERY", "SELECT 1 /*! INTO OUTFILE 'x' */", "executable comment"),
    ("REDSHIFT", "SELECT pg_terminate_backend(1)", "pg_terminate_backend"),
    ("DUCKDB", "SELECT getenv('HOME')", "getenv"),
    ("DUCKDB", "SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("DUCKDB", "SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
    ("DUCKDB", "SELECT * FROM glob('/*')", "glob"),
    ("DUCKDB", "SELECT * FROM query('SELECT 1')", r"query\(\).*SQL given as a string"),
    ("DUCKDB", "SELECT * FROM duckdb_secrets()", "duckdb_secrets"),
    ("DUCKDB", "ATTACH '/tmp/x.duckdb' AS x", "ATTACH statements are not allowed"),
    ("DUCKDB", "COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
    ("DUCKDB", "INSTALL httpfs", "INSTALL"),
    ("DUCKDB", "LOAD httpfs", "not allowed"),
    ("DUCKDB", "SET enable_external_access = true", "SET"),
]
OTHER_BENIGN = [
    ("ORACLE", "SELECT DBMS_RANDOM.VALUE FROM dual"),
    ("ORACLE", "SELECT /*+ INDEX(t) */ * FROM t"),
    ("SQLITE", "SELECT glob('a*', name) FROM t"),
    ("MSSQL", "SELECT TOP 5 * FROM dbo.t"),
    ("SNOWFLAKE", "SELECT CURRENT_TIMESTAMP()"),
    ("DUCKDB", "SELECT * FROM read_parquet('data/t.parquet')"),
    ("HIVE", "SELECT count(*) FROM db.t"),
]


@pytest.mark.parametrize(("dialect", "sql", "refused"), OTHER_DIALECTS)
def test_other_dialects_refuse_dangerous_functions(dialect: str, sql: str, refused: str) -> None:
    with pytest.raises(ReadOnlyQueryError) as info:
        ensure_read_only(sql, dialect)
    assert re.search(refused, str(info.value), re.IGNORECASE), str(info.value)
    assert WHAT_TO_DO.search(str(info.value)), str(info.value)


@pytest.mark.parametrize(("dialect", "sql"), OTHER_BENIGN)
def test_other_dialects_keep_benign_queries(dialect: str, sql: str) -> None:
    assert ensure_read_only(sql, dialect) == sql


# ---------------------------------------------------------------- DuckDB over local files


@pytest.fixture
def files(tmp_path) -> Connector:
    base = tmp_path / "base"
    c = create_connector(
        {
            "type": "FILE_UPLOAD",
            "access_type": "WRITE_DATA",
            "config": {"basePath": str(base), "queryTimeout": 1},
        }
    )
    c.write_data(pd.DataFrame({"id": [1, 2, 3]}), "data/t.parquet")
    (tmp_path / "outside.csv").write_text("secret\n42\n")
    return c


def test_duckdb_reads_only_below_the_base_path(files: Connector, tmp_path) -> None:
    base = tmp_path / "base"
    assert (
        int(files.query(f"SELECT count(*) AS n FROM read_parquet('{base}/data/t.parquet')").iloc[0, 0]) == 3
    )
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM '{tmp_path}/outside.csv'",
        f"SELECT * FROM read_csv('{tmp_path}/outside.csv')",
        f"SELECT * FROM read_csv('{base}/../outside.csv')",
        f"SELECT * FROM read_csv('{base}/data/../../outside.csv')",
    ):
        with pytest.raises(AccessDeniedError, match=r"query\(\) may only read files below basePath"):
            files.query(sql)
    for sql in (
        f"ATTACH '{tmp_path}/x.duckdb' AS x",
        f"COPY (SELECT 1) TO '{base}/copy.csv'",
        "INSTALL httpfs",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/*')",
        "SELECT * FROM query('SELECT 1')",
    ):
        with pytest.raises(ReadOnlyQueryError):
            files.query(sql)
    assert not (base / "copy.csv").exists()
    assert len(files.read_data("data/t.parquet")) == 3  # reads through the sandbox still work


def test_duckdb_is_interrupted_at_the_timeout(files: Connector) -> None:
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"query timeout of 1s"):
        files.query("SELECT count(*) AS n FROM range(1000000000000) t(i) WHERE i % 7 = 3")
    assert time.monotonic() - start < 4
    assert int(files.query("SELECT 1 AS a").iloc[0, 0]) == 1
