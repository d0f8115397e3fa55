"""A wrong password, an unreachable host, an unknown location: one clear error each, fast, secret-free."""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from collections.abc import Iterator

import pytest
from connector_helpers import MARIA, PG, free_port, reachable, unique

from synth_dagster.connectors import (
    ConnectorAuthError,
    ConnectorUnreachableError,
    LocationNotFoundError,
    MissingDriverError,
    ReadOnlyQueryError,
    create_connector,
)
from synth_dagster.domain.connectors import ConnectorConfig

SECRET = "Sup3r-Secret/pw@x:y"


def _full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A loopback port that accepts TCP connections and then never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.skipif(not reachable("127.0.0.1", 3306), reason="no MariaDB on 127.0.0.1:3306")
def test_wrong_password_mariadb(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    c = create_connector({"type": "MARIADB", "config": MARIA, "secrets": {"password": SECRET}})
    with pytest.raises(ConnectorAuthError) as info:
        c.test_connection()
    text = _full_text(info.value)
    assert "authentication failed" in str(info.value)
    assert SECRET not in text and SECRET not in caplog.text
    assert "Sup3r" not in text


@pytest.mark.skipif(not reachable("127.0.0.1", 5432), reason="no PostgreSQL on 127.0.0.1:5432")
def test_unknown_role_postgres() -> None:
    cfg = {**PG, "username": unique("nobody")}
    c = create_connector({"type": "POSTGRES", "config": cfg, "secrets": {"password": SECRET}})
    with pytest.raises(ConnectorAuthError) as info:
        c.read_training_data("public.x")
    assert SECRET not in _full_text(info.value)


@pytest.mark.parametrize("kind", ["POSTGRES", "MARIADB"])
def test_unreachable_host_times_out(kind: str, blackhole: int) -> None:
    cfg = {"host": "127.0.0.1", "port": blackhole, "username": "u", "connectTimeout": 2}
    if kind == "POSTGRES":
        cfg["database"] = "d"
    c = create_connector({"type": kind, "config": cfg, "secrets": {"password": SECRET}})
    start = time.monotonic()
    with pytest.raises(ConnectorUnreachableError) as info:
        c.test_connection()
    elapsed = time.monotonic() - start
    assert elapsed < 8, f"took {elapsed:.1f}s with a 2s timeout"
    assert f"127.0.0.1:{blackhole}" in str(info.value) and "2s" in str(info.value)
    assert SECRET not in _full_text(info.value)


@pytest.mark.parametrize("kind", ["POSTGRES", "MARIADB", "S3_STORAGE"])
def test_refused_port(kind: str) -> None:
    port = free_port()
    if kind == "S3_STORAGE":
        pytest.importorskip("s3fs")
        cfg = {
            "type": kind,
            "config": {"accessKey": "k", "endpointUrl": f"http://127.0.0.1:{port}", "connectTimeout": 2},
            "secrets": {"secretKey": SECRET},
        }
    else:
        cfg = {
            "type": kind,
            "config": {"host": "127.0.0.1", "port": port, "username": "u", "connectTimeout": 2},
            "secrets": {"password": SECRET},
        }
    c = create_connector(cfg)
    start = time.monotonic()
    with pytest.raises(ConnectorUnreachableError) as info:
        c.test_connection()
    assert time.monotonic() - start < 10
    assert SECRET not in _full_text(info.value)


def test_unknown_location_sqlite(tmp_path) -> None:
    c = create_connector(
        {"type": "SQLITE", "access_type": "READ_DATA", "config": {"database": str(tmp_path / "x.db")}}
    )
    with pytest.raises(LocationNotFoundError, match="'main.nope' not found"):
        c.read_data("main.nope")


def test_secrets_masked_everywhere() -> None:
    cfg = ConnectorConfig(
        type="POSTGRES",
        config={"host": "db.example", "username": "me", "sslEnabled": True},
        secrets={"password": SECRET},
        ssl={"sslCertificateKey": "-----BEGIN PRIVATE KEY-----abc"},
    )
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(), str(cfg.model_dump())):
        assert SECRET not in text and "PRIVATE KEY" not in text
    c = create_connector(cfg)
    assert SECRET not in repr(c) and SECRET not in c.url and "***" in c.url
    assert cfg.secret_values() == {"password": SECRET}  # the driver still gets it
    assert c.scrub(f"failed for {SECRET}") == "failed for ***"
    with pytest.raises(ValueError) as info:
        ConnectorConfig(type="POSTGRES", config={"host": "h", "nope": 1}, secrets={"password": SECRET})
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("kind", "config", "extra", "module"),
    [
        ("MSSQL", {"host": "h"}, "mssql", "pymssql"),
        ("ORACLE", {"host": "h"}, "oracle", "oracledb"),
        ("HIVE", {"host": "h"}, "hive", "pyhive.hive"),
        ("DATABRICKS", {"host": "h", "httpPath": "/sql/1"}, "databricks", "databricks.sql"),
        ("POSTGRES", {"host": "h"}, "postgres", "psycopg2"),
        ("SNOWFLAKE", {"account": "a", "username": "u"}, "snowflake", "snowflake.connector"),
        ("BIGQUERY", {"projectId": "p"}, "bigquery", "google.cloud.bigquery"),
        ("S3_STORAGE", {}, "s3", "s3fs"),
        ("GOOGLE_CLOUD_STORAGE", {}, "gcs", "gcsfs"),
        ("AZURE_STORAGE", {"accountName": "a"}, "azure", "adlfs"),
    ],
)
def test_missing_driver_names_the_extra(kind, config, extra, module, monkeypatch) -> None:
    import importlib

    real = importlib.import_module

    def fake(name: str, *args, **kwargs):
        if name == module:
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", fake)
    c = create_connector({"type": kind, "config": config})
    with pytest.raises(MissingDriverError, match=rf"pip install 'synth_dagster\[{extra}\]'"):
        c.test_connection()


def test_connect_is_thread_safe_enough(tmp_path) -> None:
    """Several threads sharing one connector (as Dagster may) each get a working connection."""
    c = create_connector(
        {"type": "SQLITE", "access_type": "WRITE_DATA", "config": {"database": str(tmp_path / "t.db")}}
    )
    import pandas as pd

    c.write_data(pd.DataFrame({"a": range(10)}), "main.t")
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(len(c.read_data("main.t")))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [10] * 4


@pytest.mark.skipif(not reachable("127.0.0.1", 3306), reason="no MariaDB on 127.0.0.1:3306")
def test_short_connect_timeout_does_not_cut_long_queries() -> None:
    c = create_connector(
        {"type": "MARIADB", "access_type": "READ_DATA", "config": {**MARIA, "connectTimeout": 1}}
    )
    # SLEEP is refused by query()'s guard now; the connection layer below it is what is checked
    with c._errors("run the query"):
        assert int(c._query("SELECT SLEEP(2) AS s").iloc[0, 0]) == 0


@pytest.mark.skipif(not reachable("127.0.0.1", 5432), reason="no PostgreSQL on 127.0.0.1:5432")
def test_postgres_runs_query_in_a_read_only_transaction() -> None:
    """Side effects the guard misses are stopped by the database itself.

    The guard refuses nextval now, so `_query` (the layer under it) is called directly.
    """
    import sqlalchemy as sa

    from synth_dagster.connectors import ConnectorError

    seq = unique("seq")
    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SEQUENCE {seq}")
    try:
        c = create_connector({"type": "POSTGRES", "access_type": "READ_DATA", "config": PG})
        with pytest.raises(ReadOnlyQueryError, match="nextval"):
            c.query(f"SELECT nextval('{seq}')")
        with pytest.raises(ConnectorError, match="read-only transaction"), c._errors("run the query"):
            c._query(f"SELECT nextval('{seq}')")
        with engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT last_value, is_called FROM {seq}").one() == (1, False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SEQUENCE {seq}")
        engine.dispose()


def test_wrong_secret_key_s3(s3_endpoint: str, monkeypatch) -> None:
    """moto checks signatures once its auth is on: an unknown key pair is refused."""
    from moto import settings

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    c = create_connector(
        {
            "type": "S3_STORAGE",
            "config": {"accessKey": "AKIAUNKNOWN000000000", "endpointUrl": s3_endpoint, "connectTimeout": 2},
            "secrets": {"secretKey": SECRET},
        }
    )
    with pytest.raises(ConnectorAuthError) as info:
        c.test_connection()
    assert SECRET not in _full_text(info.value)
