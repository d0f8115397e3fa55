"""The statement allow-list: one SELECT / set operation / SHOW / DESCRIBE / EXPLAIN (no ANALYZE)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from sqlglot import exp

from synth_dagster.connectors.readonly.common import refuse

__all__ = ["check_statement"]


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
_INSTEAD = "send a single SELECT, SHOW or DESCRIBE (write_data and delete_data write)"


def check_statement(
    statement: exp.Expression, dialect: str | None, check_text: Callable[[str, str | None], str]
) -> None:
    """Refuse a statement off the allow-list, or one holding a write, lock or session change.

    `check_text` checks the statement behind EXPLAIN (the whole guard, from the text).
    """
    if isinstance(statement, exp.Command):
        _check_command(statement, dialect, check_text)
        return
    if not isinstance(statement, _ALLOWED_TOP):
        raise refuse(f"{statement.key.upper()} statements are not allowed; {_INSTEAD}")
    for node in statement.walk():
        if isinstance(node, _FORBIDDEN):
            raise refuse(f"it contains a {node.key.upper()} statement; {_INSTEAD}")
        if isinstance(node, exp.Select) and (node.args.get("into") or node.args.get("locks")):
            raise refuse(
                "SELECT ... INTO and SELECT ... FOR UPDATE modify data or take locks; remove the INTO or "
                "FOR UPDATE clause"
            )


def _check_command(
    statement: exp.Command, dialect: str | None, check_text: Callable[[str, str | None], str]
) -> None:
    # sqlglot keeps statements it does not model (SHOW in postgres, EXPLAIN, VACUUM, CALL ...) as
    # a Command: a name plus the raw rest of the text.
    name = str(statement.this).upper()
    rest = statement.expression.name if isinstance(statement.expression, exp.Expression) else ""
    rest = str(rest or "").strip()
    if name in _SHOW_COMMANDS:
        return
    if name == "EXPLAIN":
        if re.match(r"(?is)^\s*(\(|analy[sz]e\b)", rest):
            raise refuse("EXPLAIN ANALYZE executes the statement it explains; use EXPLAIN without ANALYZE")
        inner = re.sub(r"(?is)^\s*(verbose|query\s+plan)\s+", "", rest)
        check_text(inner, dialect)
        return
    raise refuse(f"{name} statements are not allowed; {_INSTEAD}")
