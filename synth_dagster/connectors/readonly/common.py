"""What the read-only checks share: the dialect names and the refusal."""

from __future__ import annotations

from synth_dagster.connectors.errors import ReadOnlyQueryError

# sqlglot dialect names per connector family.
DIALECTS = {
    "POSTGRES": "postgres",
    "REDSHIFT": "redshift",
    "MYSQL": "mysql",
    "MARIADB": "mysql",
    "MSSQL": "tsql",
    "ORACLE": "oracle",
    "SQLITE": "sqlite",
    "SNOWFLAKE": "snowflake",
    "BIGQUERY": "bigquery",
    "HIVE": "hive",
    "DATABRICKS": "databricks",
    "DUCKDB": "duckdb",
}


def sqlglot_dialect(dialect: str | None) -> str | None:
    """The sqlglot name of a connector family (or a sqlglot name as it is)."""
    return DIALECTS.get(dialect.upper(), dialect.lower()) if dialect else None


def refuse(reason: str) -> ReadOnlyQueryError:
    return ReadOnlyQueryError(f"query() only runs read-only statements (SELECT, SHOW, DESCRIBE): {reason}")
