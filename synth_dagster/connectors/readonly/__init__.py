"""Refuse SQL that could modify data, change the server or wait, before it reaches a database.

The guard accepts exactly one statement from an allow-list (SELECT / set operations / SHOW /
DESCRIBE / EXPLAIN without ANALYZE), parsed with sqlglot; anything it cannot parse is refused
rather than guessed at. Before parsing it refuses what a parser reads as a comment but a server
runs (MySQL/MariaDB executable comments, variable-setting optimizer hints) and SELECT ... INTO
OUTFILE / DUMPFILE; after parsing, calls of administrative, file, lock, sleep and side-effect
functions (functions.py).

This is defence in depth, not the boundary: databases that support it also run `query()` inside
a read-only transaction, every statement has a time limit (`config.queryTimeout`), and the real
boundary is a database role that may only read.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import SqlglotError

from synth_dagster.connectors.readonly.common import DIALECTS, refuse, sqlglot_dialect
from synth_dagster.connectors.readonly.functions import check_calls, check_text_calls
from synth_dagster.connectors.readonly.statements import check_statement
from synth_dagster.connectors.readonly.text import check_text

__all__ = ["DIALECTS", "ensure_read_only"]


def ensure_read_only(sql: str, dialect: str | None = None) -> str:
    """Return `sql` stripped of a trailing semicolon if it is a single read-only statement.

    Raises ReadOnlyQueryError otherwise, with what was refused and what to do: for several
    statements (`SELECT 1; DROP TABLE x`), any statement that writes or changes schema or session
    state, `SELECT ... INTO`, `FOR UPDATE`, executable comments, denied functions, and text the
    parser does not understand. `dialect` is a connector family (POSTGRES, MARIADB, DUCKDB ...) or
    a sqlglot dialect name.
    """
    text = sql.strip()
    if not text:
        raise refuse("the statement is empty; pass one SELECT, SHOW or DESCRIBE")
    read = sqlglot_dialect(dialect)
    check_text(text, read)
    try:
        statements = [s for s in sqlglot.parse(text, read=read) if s is not None]
    except SqlglotError:
        check_text_calls(text, read)  # a denied call says more than "could not be parsed"
        raise refuse(
            "the statement could not be parsed, so it cannot be verified as read-only; check its syntax "
            "for this database"
        ) from None
    if len(statements) != 1:
        raise refuse(f"expected exactly one statement, got {len(statements)}; send them one at a time")
    check_statement(statements[0], read, ensure_read_only)
    check_calls(statements[0], read)
    check_text_calls(text, read)
    return text.rstrip().rstrip(";").rstrip()
