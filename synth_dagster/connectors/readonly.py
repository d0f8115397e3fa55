"""Refuse SQL that could modify data or schema before it reaches a database.

The guard parses the text with sqlglot and accepts exactly one statement from an allow-list
(SELECT / set operations / SHOW / DESCRIBE / EXPLAIN without ANALYZE). Anything it cannot parse is
refused rather than guessed at. Databases that support it additionally run `query()` inside a
read-only transaction (see the SQL connectors), which catches side-effecting functions a parser
cannot know about.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from synth_dagster.connectors.errors import ReadOnlyQueryError

__all__ = ["ensure_read_only"]


class _QuietFallback(logging.Filter):
    """Drop sqlglot's notice that it keeps a statement as a raw Command: we check those ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_QuietFallback())

# Node types that write, change schema, change session state or take locks.
_FORBIDDEN: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "AlterColumn",
        "TruncateTable",
        "Copy",
        "Command",
        "Set",
        "Grant",
        "Revoke",
        "Pragma",
        "Attach",
        "Detach",
        "Use",
        "Transaction",
        "Commit",
        "Rollback",
        "LoadData",
        "Lock",
        "Cache",
        "Uncache",
        "Refresh",
        "Analyze",
        "Install",
        "Export",
    )
    if hasattr(exp, name)
)
_ALLOWED_TOP: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in ("Select", "SetOperation", "Union", "Describe", "Show")
    if hasattr(exp, name)
)
_SHOW_COMMANDS = {"SHOW", "DESC", "DESCRIBE"}

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


def _refuse(reason: str) -> ReadOnlyQueryError:
    return ReadOnlyQueryError(f"query() only runs read-only statements (SELECT, SHOW, DESCRIBE): {reason}")


def ensure_read_only(sql: str, dialect: str | None = None) -> str:
    """Return `sql` stripped of a trailing semicolon if it is a single read-only statement.

    Raises ReadOnlyQueryError otherwise: for several statements (`SELECT 1; DROP TABLE x`), any
    statement that writes or changes schema or session state, `SELECT ... INTO`, `FOR UPDATE`, and
    for text the parser does not understand.
    """
    text = sql.strip()
    if not text:
        raise _refuse("the statement is empty")
    read = DIALECTS.get(dialect.upper(), dialect) if dialect else None
    try:
        statements = [s for s in sqlglot.parse(text, read=read) if s is not None]
    except SqlglotError:
        raise _refuse("the statement could not be parsed, so it cannot be verified as read-only") from None
    if len(statements) != 1:
        raise _refuse(f"expected exactly one statement, got {len(statements)}")
    _check(statements[0], read)
    return text.rstrip().rstrip(";").rstrip()


def _check(statement: exp.Expression, dialect: str | None) -> None:
    if isinstance(statement, exp.Command):
        _check_command(statement, dialect)
        return
    if not isinstance(statement, _ALLOWED_TOP):
        raise _refuse(f"{statement.key.upper()} statements are not allowed")
    for node in statement.walk():
        if isinstance(node, _FORBIDDEN):
            raise _refuse(f"it contains a {node.key.upper()} statement")
        if isinstance(node, exp.Select) and (node.args.get("into") or node.args.get("locks")):
            raise _refuse("SELECT ... INTO and SELECT ... FOR UPDATE modify data or take locks")


def _check_command(statement: exp.Command, dialect: str | None) -> None:
    # sqlglot keeps statements it does not model (SHOW in postgres, EXPLAIN, VACUUM, CALL ...) as
    # a Command: a name plus the raw rest of the text.
    name = str(statement.this).upper()
    rest = statement.expression.name if isinstance(statement.expression, exp.Expression) else ""
    rest = str(rest or "").strip()
    if name in _SHOW_COMMANDS:
        return
    if name == "EXPLAIN":
        if re.match(r"(?is)^\s*(\(|analy[sz]e\b)", rest):
            raise _refuse("EXPLAIN ANALYZE executes the statement it explains")
        inner = re.sub(r"(?is)^\s*(verbose|query\s+plan)\s+", "", rest)
        ensure_read_only(inner, dialect)
        return
    raise _refuse(f"{name} statements are not allowed")
