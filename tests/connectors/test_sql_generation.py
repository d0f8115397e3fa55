"""Databases without a local server: SQL generation and configuration.

No MSSQL, Oracle, Hive or Databricks server (nor an emulator from the package registries) was
available on this machine, so these tests check the URLs, DDL and SELECTs the connectors generate
with SQLAlchemy's dialects, not a live round trip. REDSHIFT is run for real against the local
PostgreSQL (same wire protocol), in test_families.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from connector_frames import typed_frame
from sqlalchemy.schema import CreateTable

from synth_dagster.connectors import create_connector
from synth_dagster.connectors.frames import specs_of_frame

SECRET = "p@ss/w:rd"


def _compile(stmt, dialect) -> str:
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def test_mssql_sql() -> None:
    from sqlalchemy.dialects import mssql

    c = create_connector(
        {
            "type": "MSSQL",
            "config": {"host": "db", "username": "sa", "database": "sales"},
            "secrets": {"password": SECRET},
        }
    )
    assert c.url == "mssql+pymssql://sa:***@db:1433/sales"
    select = _compile(c.select_statement("dbo", "orders", ["id", "name"], 10, True), mssql.dialect())
    assert "TOP 10" in select and "ORDER BY NEWID()" in select and "dbo.orders" in select
    ddl = str(
        CreateTable(c._table("t", "dbo", specs_of_frame(typed_frame()))).compile(dialect=mssql.dialect())
    )
    assert (
        "DATETIMEOFFSET" in ddl and "DATETIME2" in ddl and "NVARCHAR(max)" in ddl and "BIGINT NOT NULL" in ddl
    )


def test_oracle_sql() -> None:
    from sqlalchemy.dialects import oracle

    c = create_connector(
        {
            "type": "ORACLE",
            "config": {
                "host": "ora",
                "username": "scott",
                "connectionType": "SERVICE_NAME",
                "database": "PDB1",
            },
            "secrets": {"password": SECRET},
        }
    )
    assert c.url == "oracle+oracledb://scott:***@ora:1521?service_name=PDB1"
    sid = create_connector({"type": "ORACLE", "config": {"host": "ora", "username": "scott"}})
    assert sid.url.endswith("@ora:1521/ORCL")  # SID, database ORCL by default
    select = _compile(c.select_statement("HR", "EMP", ["ID"], 5, True), oracle.dialect())
    assert "DBMS_RANDOM.VALUE" in select and "FETCH FIRST 5 ROWS ONLY" in select
    ddl = str(
        CreateTable(c._table("T", "HR", specs_of_frame(typed_frame()))).compile(dialect=oracle.dialect())
    )
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "NUMBER(19) NOT NULL" in ddl


def test_hive_and_databricks_config() -> None:
    hive = create_connector(
        {"type": "HIVE", "config": {"host": "hive", "username": "u"}, "secrets": {"password": SECRET}}
    )
    assert hive.url == "hive://u:***@hive:10000/default?auth=LDAP"
    kerberos = create_connector(
        {
            "type": "HIVE",
            "config": {
                "host": "hive",
                "kerberosEnabled": True,
                "kerberosServicePrincipal": "hive/host@REALM",
            },
        }
    )
    assert "auth=KERBEROS" in kerberos.url and "kerberos_service_name=hive" in kerberos.url
    dbx = create_connector(
        {
            "type": "DATABRICKS",
            "config": {
                "host": "adb-1.azuredatabricks.net",
                "httpPath": "/sql/1.0/warehouses/x",
                "catalog": "main",
            },
            "secrets": {"accessToken": "dapi-" + SECRET},
        }
    )
    assert SECRET not in dbx.url and "http_path=" in dbx.url and "catalog=main" in dbx.url
    assert dbx.flavor.random == "rand()" and hive.flavor.rename == "alter_qualified"


def test_redshift_and_postgres_ssl_config(tmp_path) -> None:
    import base64

    rs = create_connector(
        {
            "type": "REDSHIFT",
            "config": {"host": "rs", "username": "u", "database": "dev"},
            "secrets": {"password": SECRET},
        }
    )
    assert rs.url == "postgresql+psycopg2://u:***@rs:5439/dev"
    from synth_dagster.connectors.certs import CertificateFiles
    from synth_dagster.connectors.sql.dialects import FLAVORS, connect_args
    from synth_dagster.domain.connectors import ConnectorConfig, ConnectorType

    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nabc\n").decode()
    cfg = ConnectorConfig(
        type="POSTGRES",
        config={"host": "h", "sslEnabled": True},
        ssl={"rootCertificate": cert, "sslCertificate": cert, "sslCertificateKey": cert},
    )
    files = CertificateFiles()
    args = connect_args(cfg, FLAVORS[ConnectorType.POSTGRES], 5, files)
    assert args["sslmode"] == "verify-ca" and args["connect_timeout"] == 5
    with open(args["sslrootcert"], "rb") as fh:
        assert fh.read().startswith(b"-----BEGIN CERTIFICATE-----")
    files.cleanup()


def test_sqlalchemy_url_never_renders_password() -> None:
    c = create_connector(
        {"type": "POSTGRES", "config": {"host": "h", "username": "u"}, "secrets": {"password": SECRET}}
    )
    engine = sa.create_engine(c.url.replace("***", "x"))  # what a user could build from it
    assert SECRET not in repr(engine) and SECRET not in c.url


@pytest.mark.parametrize("kind", ["MYSQL", "MARIADB"])
def test_mysql_locations_need_a_database(kind: str) -> None:
    c = create_connector({"type": kind, "access_type": "READ_DATA", "config": {"host": "127.0.0.1"}})
    with pytest.raises(ValueError, match="database.table"):
        c.read_data("just_a_table")
