"""Per-database details of the SQLAlchemy family: URLs, drivers, types and a few statements.

URLs are built with `URL.create` (so passwords are escaped, never formatted into a string) and only
ever rendered with `hide_password=True`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from synth_dagster.connectors.certs import CertificateFiles
from synth_dagster.connectors.frames import ColumnSpec
from synth_dagster.domain.connectors import (
    QUERY_TIMEOUT_KEY,
    ConnectorConfig,
    ConnectorType,
    query_timeout_seconds,
)

# Marker for time-zone-aware timestamps on databases without a time-zone type: values are stored as
# naive UTC and the column carries this comment (MySQL, MariaDB) or declared type (SQLite).
TZ_COMMENT = "synth_dagster:utc"
SQLITE_TZ_TYPE = "TIMESTAMP_UTC"


@dataclass(frozen=True)
class Flavor:
    """What differs between the databases reached through SQLAlchemy."""

    type: ConnectorType
    drivername: str
    extra: str
    module: str  # DBAPI module, imported to check the extra is installed
    package: str
    default_port: int | None
    native_tz: bool  # has a time-zone-aware timestamp type
    random: str  # expression for ORDER BY <random>
    read_only_sql: str | None = "SET TRANSACTION READ ONLY"  # first statement of a query()
    rename: str = "alter"  # how to rename a table: alter | alter_qualified | mysql | mssql
    transactional_ddl: bool = False
    system_schemas: frozenset[str] = field(default_factory=frozenset)

    @property
    def dialect_name(self) -> str:
        return self.drivername.split("+")[0]


_PG_SYSTEM = frozenset({"information_schema", "pg_catalog", "pg_toast"})
_MYSQL_SYSTEM = frozenset({"information_schema", "mysql", "performance_schema", "sys"})

FLAVORS: dict[ConnectorType, Flavor] = {
    ConnectorType.POSTGRES: Flavor(
        ConnectorType.POSTGRES,
        "postgresql+psycopg2",
        "postgres",
        "psycopg2",
        "psycopg2-binary",
        5432,
        True,
        "random()",
        transactional_ddl=True,
        system_schemas=_PG_SYSTEM,
    ),
    ConnectorType.REDSHIFT: Flavor(
        ConnectorType.REDSHIFT,
        "postgresql+psycopg2",
        "redshift",
        "psycopg2",
        "psycopg2-binary",
        5439,
        True,
        "random()",
        read_only_sql=None,
        transactional_ddl=True,
        system_schemas=_PG_SYSTEM | {"pg_internal", "pg_automv"},
    ),
    ConnectorType.MYSQL: Flavor(
        ConnectorType.MYSQL,
        "mysql+pymysql",
        "mysql",
        "pymysql",
        "pymysql",
        3306,
        False,
        "RAND()",
        rename="mysql",
        system_schemas=_MYSQL_SYSTEM,
    ),
    ConnectorType.MARIADB: Flavor(
        ConnectorType.MARIADB,
        "mariadb+pymysql",
        "mariadb",
        "pymysql",
        "pymysql",
        3306,
        False,
        "RAND()",
        rename="mysql",
        system_schemas=_MYSQL_SYSTEM,
    ),
    ConnectorType.MSSQL: Flavor(
        ConnectorType.MSSQL,
        "mssql+pymssql",
        "mssql",
        "pymssql",
        "pymssql",
        1433,
        True,
        "NEWID()",
        read_only_sql=None,
        rename="mssql",
        transactional_ddl=True,
        system_schemas=frozenset(
            {
                "INFORMATION_SCHEMA",
                "sys",
                "guest",
                "db_owner",
                "db_accessadmin",
                "db_securityadmin",
                "db_ddladmin",
                "db_backupoperator",
                "db_datareader",
                "db_datawriter",
                "db_denydatareader",
                "db_denydatawriter",
            }
        ),
    ),
    ConnectorType.ORACLE: Flavor(
        ConnectorType.ORACLE,
        "oracle+oracledb",
        "oracle",
        "oracledb",
        "oracledb",
        1521,
        True,
        "DBMS_RANDOM.VALUE",
        system_schemas=frozenset({"SYS", "SYSTEM", "OUTLN", "XDB", "DBSNMP"}),
    ),
    ConnectorType.SQLITE: Flavor(
        ConnectorType.SQLITE,
        "sqlite+pysqlite",
        "sqlite",
        "sqlite3",
        "sqlite3",
        None,
        False,
        "random()",
        read_only_sql=None,
        transactional_ddl=True,
    ),
    ConnectorType.HIVE: Flavor(
        ConnectorType.HIVE,
        "hive",
        "hive",
        "pyhive.hive",
        "pyhive",
        10000,
        False,
        "rand()",
        read_only_sql=None,
        rename="alter_qualified",
    ),
    ConnectorType.DATABRICKS: Flavor(
        ConnectorType.DATABRICKS,
        "databricks",
        "databricks",
        "databricks.sql",
        "databricks-sql-connector",
        443,
        True,
        "rand()",
        read_only_sql=None,
        rename="alter_qualified",
        system_schemas=frozenset({"information_schema"}),
    ),
}


# ---------------------------------------------------------------- URLs and connect arguments


def _port(cfg: dict[str, Any], flavor: Flavor) -> int | None:
    port = cfg.get("port", flavor.default_port)
    return int(port) if port not in (None, "") else None


def build_url(config: ConnectorConfig, flavor: Flavor) -> URL:
    cfg, secrets = config.config, config.secret_values()
    t = config.type
    if t is ConnectorType.SQLITE:
        return URL.create(flavor.drivername, database=str(cfg["database"]))
    if t is ConnectorType.DATABRICKS:
        query = {"http_path": str(cfg["httpPath"])}
        if cfg.get("catalog"):
            query["catalog"] = str(cfg["catalog"])
        return URL.create(
            flavor.drivername,
            username="token",
            password=secrets.get("accessToken"),
            host=str(cfg["host"]),
            port=_port(cfg, flavor),
            query=query,
        )
    database = cfg.get("database")
    query: dict[str, str] = {}
    if t in (ConnectorType.MYSQL, ConnectorType.MARIADB):
        query["charset"] = "utf8mb4"  # 4-byte unicode (emoji) survives the round trip
    if t is ConnectorType.ORACLE:
        database = str(cfg.get("database") or "ORCL")
        if str(cfg.get("connectionType", "SID")).upper() == "SERVICE_NAME":
            query["service_name"] = database
            database = None
    if t is ConnectorType.HIVE:
        database = "default"
        if cfg.get("kerberosEnabled"):
            query["auth"] = "KERBEROS"
            principal = cfg.get("kerberosServicePrincipal") or cfg.get("kerberosPrincipal") or "hive"
            query["kerberos_service_name"] = str(principal).split("/")[0]
        elif secrets.get("password"):
            query["auth"] = "LDAP"
    return URL.create(
        flavor.drivername,
        username=cfg.get("username"),
        password=secrets.get("password"),
        host=str(cfg["host"]),
        port=_port(cfg, flavor),
        database=str(database) if database else None,
        query=query,
    )


def connect_args(
    config: ConnectorConfig, flavor: Flavor, timeout: float, certs: CertificateFiles
) -> dict[str, Any]:
    """Driver keyword arguments: the connect timeout, SSL settings and, where the driver takes it
    at connect time, the query timeout (others get it per connection, see sql/sessions.py)."""
    cfg, ssl = config.config, config.ssl_values()
    t = config.type
    seconds = max(1, int(round(timeout)))
    query_seconds = max(1, math.ceil(query_timeout_seconds(cfg.get(QUERY_TIMEOUT_KEY))))
    if t in (ConnectorType.POSTGRES, ConnectorType.REDSHIFT):
        args: dict[str, Any] = {"connect_timeout": seconds}
        if cfg.get("sslEnabled"):
            args["sslmode"] = "verify-ca" if ssl.get("rootCertificate") else "require"
            for key, arg, name in (
                ("rootCertificate", "sslrootcert", "root.crt"),
                ("sslCertificate", "sslcert", "client.crt"),
                ("sslCertificateKey", "sslkey", "client.key"),
            ):
                if ssl.get(key):
                    args[arg] = certs.write(name, ssl[key])
        return args
    if t in (ConnectorType.MYSQL, ConnectorType.MARIADB):
        # pymysql waits for the server greeting with read_timeout, not connect_timeout; the
        # connection raises it to the query timeout once connected (see sql/sessions.py)
        return {"connect_timeout": seconds, "read_timeout": seconds}
    if t is ConnectorType.MSSQL:
        # pymssql's `timeout` bounds every statement; it raises "Adaptive Server connection timed out"
        return {"login_timeout": seconds, "timeout": query_seconds}
    if t is ConnectorType.ORACLE:
        return {"tcp_connect_timeout": float(seconds)}
    if t is ConnectorType.SQLITE:
        return {"timeout": float(seconds)}
    if t is ConnectorType.DATABRICKS:
        if cfg.get("clientId") and not config.secret_values().get("accessToken"):
            raise NotImplementedError(
                "DATABRICKS connector: service-principal (clientId/clientSecret) authentication is not "
                "supported yet; use secrets.accessToken"
            )
        # Databricks SQL cancels statements running longer than STATEMENT_TIMEOUT (seconds)
        return {
            "_socket_timeout": seconds,
            "session_configuration": {"STATEMENT_TIMEOUT": str(query_seconds)},
        }
    if t is ConnectorType.HIVE:
        # HiveServer2 (2.3+) cancels queries running longer than hive.query.timeout.seconds
        return {"configuration": {"hive.query.timeout.seconds": f"{query_seconds}s"}}
    return {}


# ---------------------------------------------------------------- types


def column_type(spec: ColumnSpec, flavor: Flavor) -> sa.types.TypeEngine:
    """The column type `write_data` creates for a frame column."""
    name = flavor.dialect_name
    kind = spec.kind
    if kind == "int":
        return sa.BigInteger()
    if kind == "float":
        return sa.Double()
    if kind == "bool":
        return sa.Boolean()
    if kind == "date":
        return sa.Date()
    if kind == "time":
        return sa.Time()
    if kind == "bytes":
        return sa.LargeBinary()
    if kind == "decimal":
        if name == "postgresql" and flavor.type is ConnectorType.POSTGRES:
            return sa.Numeric()  # unbounded precision
        scale = 10 if spec.scale is None else min(spec.scale, 18)
        return sa.Numeric(38, scale)
    if kind == "datetime":
        return _datetime_type(spec.tz, flavor)
    return _text_type(flavor)


def _datetime_type(tz: bool, flavor: Flavor) -> sa.types.TypeEngine:
    name = flavor.dialect_name
    if name in ("mysql", "mariadb"):
        from sqlalchemy.dialects import mysql

        return mysql.DATETIME(fsp=6)
    if name == "mssql":
        from sqlalchemy.dialects import mssql

        return mssql.DATETIMEOFFSET(7) if tz else mssql.DATETIME2(7)
    if name == "oracle":
        from sqlalchemy.dialects import oracle

        return oracle.TIMESTAMP(timezone=tz)
    if name == "sqlite" and tz:
        return _SqliteUtcTimestamp()
    return sa.DateTime(timezone=tz and flavor.native_tz)


def _text_type(flavor: Flavor) -> sa.types.TypeEngine:
    name = flavor.dialect_name
    if name in ("mysql", "mariadb"):
        from sqlalchemy.dialects import mysql

        return mysql.LONGTEXT()
    if name == "mssql":
        from sqlalchemy.dialects import mssql

        return mssql.NVARCHAR(None)  # NVARCHAR(max)
    if name == "oracle":
        return sa.UnicodeText()
    if name in ("hive", "databricks"):
        return sa.String()
    return sa.Text()


class _SqliteUtcTimestamp(sa.types.UserDefinedType):
    """SQLite has no types; the declared name marks a column as time-zone aware (stored in UTC)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return SQLITE_TZ_TYPE


def spec_of_reflected(
    column: dict[str, Any], flavor: Flavor, dialect: sa.engine.Dialect, declared: str | None = None
) -> ColumnSpec:
    """Describe a reflected column (from `Inspector.get_columns`)."""
    typ = column["type"]
    name = str(column["name"])
    nullable = bool(column.get("nullable", True))
    try:
        source = str(typ.compile(dialect=dialect))
    except Exception:  # reflected types of third-party dialects may not compile standalone
        source = type(typ).__name__
    kind, tz, scale = _kind_of(typ, flavor)
    if (column.get("comment") or "") == TZ_COMMENT and kind == "datetime":
        tz = True
    if declared is not None:
        source = declared
        if declared.upper() == SQLITE_TZ_TYPE:
            kind, tz = "datetime", True
    return ColumnSpec(name, kind, nullable=nullable, tz=tz, scale=scale, source_type=source)


def _kind_of(typ: sa.types.TypeEngine, flavor: Flavor) -> tuple[str, bool, int | None]:
    if isinstance(typ, sa.Boolean):
        return "bool", False, None
    if flavor.dialect_name in ("mysql", "mariadb") and type(typ).__name__ == "TINYINT":
        if getattr(typ, "display_width", None) == 1:
            return "bool", False, None  # MySQL's BOOLEAN is TINYINT(1)
    if isinstance(typ, sa.Integer):
        return "int", False, None
    if isinstance(typ, sa.Float):
        return "float", False, None
    if isinstance(typ, sa.Numeric):
        scale = getattr(typ, "scale", None)
        if scale == 0 and (typ.precision or 0) <= 19:
            return "int", False, None  # Oracle NUMBER(19), Snowflake NUMBER(18, 0) ...
        if flavor.type is ConnectorType.SQLITE and scale is None:
            return "float", False, None  # SQLite's NUMERIC affinity for unknown declared types
        return "decimal", False, scale
    if isinstance(typ, sa.DateTime):
        return "datetime", bool(getattr(typ, "timezone", False)) or "OFFSET" in type(typ).__name__, None
    if isinstance(typ, sa.Date):
        return "date", False, None
    if isinstance(typ, sa.Time):
        return "time", False, None
    if isinstance(typ, (sa.String, sa.Enum, sa.Uuid)):
        return "string", False, None
    if isinstance(typ, sa.LargeBinary) or isinstance(typ, sa.types._Binary):
        return "bytes", False, None
    return "other", False, None
