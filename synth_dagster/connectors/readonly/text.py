"""Checks on the raw text, before parsing: what a parser reads as a comment but a server runs."""

from __future__ import annotations

import re

from synth_dagster.connectors.readonly.common import refuse

__all__ = ["check_text"]

# MySQL runs /*! ... */ and /*!50000 ... */, MariaDB also /*M! ... */ and /*M!100000 ... */: to
# every parser they are comments. Refused for every dialect, also inside string literals, since the
# server and the parser may disagree on where a string ends.
_EXECUTABLE_COMMENT = re.compile(r"/\*\s*M?!\s*\d*", re.IGNORECASE)
# Optimizer hints set variables on these servers: MySQL's /*+ SET_VAR(...) MAX_EXECUTION_TIME(...) */
# lifts the query timeout, pg_hint_plan's /*+ Set(statement_timeout 0) */ likewise.
_HINT = re.compile(r"/\*\+")
_HINTS_RUN = {"mysql", "postgres", "redshift"}
_INTO_FILE = re.compile(r"\bINTO\s+(OUTFILE|DUMPFILE)\b", re.IGNORECASE)


def check_text(text: str, dialect: str | None) -> None:
    """Refuse executable comments, variable-setting hints and SELECT ... INTO OUTFILE / DUMPFILE."""
    found = _EXECUTABLE_COMMENT.search(text)
    if found:
        raise refuse(
            f"it contains a MySQL/MariaDB executable comment ({found.group(0).strip()!r} ...), whose "
            "text the server runs as SQL although it looks like a comment; remove the comment"
        )
    if (dialect is None or dialect in _HINTS_RUN) and _HINT.search(text):
        raise refuse(
            "it contains an optimizer hint ('/*+ ... */'), which can change session settings such as "
            "the query timeout on this database; remove the hint"
        )
    found = _INTO_FILE.search(text)
    if found:
        raise refuse(
            f"SELECT ... INTO {found.group(1).upper()} writes a file on the database server; remove the "
            "INTO clause and save the returned frame instead"
        )
