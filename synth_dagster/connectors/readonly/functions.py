"""Functions that query() refuses: administrative, file, lock, sleep and side-effect functions.

A deny-list on every dialect, not an allow-list: each server has thousands of built-in functions
plus extension and user-defined ones, and an allow-list would refuse ordinary analytics. What a
deny-list misses is caught by the layers below it: the read-only transaction (writes), the query
timeout (long waits), DuckDB's own file sandbox (storage connectors) and, the real boundary, a
database role that may only read. Names are matched case-insensitively (a quoted "PG_SLEEP" is
refused too), with and without schema or package qualifiers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from synth_dagster.connectors.errors import ReadOnlyQueryError
from synth_dagster.connectors.readonly.common import refuse

__all__ = ["check_calls", "check_text_calls"]


@dataclass(frozen=True)
class _Family:
    what: str  # what the functions do, for the message
    patterns: tuple[str, ...]  # regular expressions over whole lower-case names
    dialects: frozenset[str] | None = None  # sqlglot dialects it applies to; None: every one

    def applies(self, dialect: str | None) -> bool:
        return self.dialects is None or dialect is None or dialect in self.dialects


_FAMILIES = (
    _Family(
        "sleeps or waits (for time, replication or a GTID) while holding a connection",
        (
            r"pg_sleep(_for|_until)?",
            r"sleep",
            r"benchmark",
            r"(master|source)_pos_wait",
            r"master_gtid_wait",
            r"wait_for_executed_gtid_set",
            r"wait_until_sql_thread_after_gtids",
            r"waitfor",
            r"system\$wait",
        ),
    ),
    _Family(
        "takes, tests or releases locks",
        (r"pg_(try_)?advisory_\w*", r"get_lock", r"release_(all_)?locks?", r"is_(free|used)_lock"),
    ),
    _Family(
        "reads or writes files (or large objects) on the database server",
        (
            r"pg_read_(binary_)?file",
            r"pg_ls_\w*",
            r"pg_stat_file",
            r"pg_file_\w*",
            r"pg_logdir_ls",
            r"lo_\w+",
            r"lo(read|write)",
            r"load_file",
            r"load_extension",
            r"writefile",
            r"fts3_tokenizer",
            r"open(rowset|datasource|query|xml)",
            r"fn_(get_audit_file|trace_gettable|xe_file_target_read_file)",
            r"httpuritype",
        ),
    ),
    _Family(
        "reads files or environment variables of the machine the engine runs on",
        (r"read(file|_text|_blob)", r"getenv"),
    ),
    _Family("lists files of the machine the engine runs on", (r"glob",), frozenset({"duckdb"})),
    _Family("opens the SQLite command line's editor", (r"edit",), frozenset({"sqlite"})),
    _Family(
        "administers the server (sessions, settings, logs, backups, replication, statistics)",
        (
            r"pg_(terminate|cancel|signal)_backend",
            r"pg_reload_conf",
            r"pg_rotate_logfile\w*",
            r"pg_switch_(wal|xlog)",
            r"pg_create_restore_point",
            r"pg_(start|stop)_backup",
            r"pg_backup_(start|stop)",
            r"pg_promote",
            r"pg_(wal|xlog)_replay_\w*",
            r"pg_\w*replication_slot\w*",
            r"pg_replication_origin_\w*",
            r"pg_logical_\w*",
            r"pg_stat_reset\w*",
            r"pg_stat_statements_reset",
            r"pg_log_backend_memory_contexts",
            r"pg_import_system_collations",
            r"pg_prewarm",
            r"binary_upgrade_\w*",
            r"pg_notify",
            r"set_config",
            r"system\$\w+",
            r"duckdb_secrets",
            r"which_secret",
            r"load_aws_credentials",
            r"(force_)?checkpoint",
        ),
    ),
    _Family(
        "runs programs or code outside SQL",
        (r"sys_(exec|eval|get|set)", r"lib_mysqludf_\w*", r"xp_\w+", r"reflect2?", r"(try_)?java_method"),
    ),
    _Family("is a system stored procedure", (r"sp_\w+",), frozenset({"tsql"})),
    _Family("changes a sequence", (r"nextval", r"setval")),
    _Family(
        "runs SQL given as a string, which this check cannot see",
        (
            r"(query|cursor|table|schema|database)_to_xml\w*",
            r"ts_stat",
            r"ts_rewrite",
            r"crosstab\d*",
            r"connectby",
            r"dblink\w*",
        ),
    ),
    _Family(
        "runs SQL given as a string, which this check cannot see", (r"query(_table)?",), frozenset({"duckdb"})
    ),
)
# Oracle packages with side effects (pipes, locks, files, HTTP, jobs, dynamic SQL); they show up as
# the qualifier of a call (DBMS_PIPE.RECEIVE_MESSAGE). DBMS_RANDOM only draws numbers.
_PACKAGES = _Family("is an Oracle package with side effects", (r"dbms_(?!random\b)\w*", r"utl_\w*"))


def _families(dialect: str | None) -> tuple[_Family, ...]:
    return tuple(f for f in _FAMILIES if f.applies(dialect))


def _denied(name: str, families: tuple[_Family, ...]) -> _Family | None:
    lowered = name.lower()
    return next((f for f in families if any(re.fullmatch(p, lowered) for p in f.patterns)), None)


def _qualifiers(node: exp.Expression) -> list[str]:
    """The schema or package names in front of a call: pg_catalog in pg_catalog.lo_export(...)."""
    names: list[str] = []
    while isinstance(node.parent, exp.Dot) and node.arg_key == "expression":
        names.extend(i.name for i in node.parent.this.find_all(exp.Identifier, exp.Var))
        node = node.parent
    return names


def _names(node: exp.Func) -> list[str]:
    if isinstance(node, exp.Anonymous):
        return [node.name]
    try:
        return [*type(node).sql_names(), node.key]
    except Exception:  # a typed function without a SQL name: its class name stands for it
        return [node.key]


def _calls(tree: exp.Expression) -> Iterator[tuple[str, list[str]]]:
    for node in tree.walk():
        if isinstance(node, exp.Func):
            yield from ((name, _qualifiers(node)) for name in _names(node))
        elif isinstance(node, exp.NextValueFor):
            yield "nextval", []
        elif isinstance(node, exp.Column) and node.name.lower() == "nextval" and node.table:
            yield "nextval", []  # Oracle / Snowflake seq.NEXTVAL advances the sequence


def _refusal(call: str, family: _Family, where: str = "") -> ReadOnlyQueryError:
    return refuse(
        f"it calls {call}(){where}, which {family.what}; query() refuses administrative, file, lock, "
        "sleep and side-effect functions, so remove the call (the database role should not be "
        "allowed it either)"
    )


def check_calls(tree: exp.Expression, dialect: str | None) -> None:
    """Refuse a parsed statement that calls a denied function anywhere (subqueries, CTEs ...)."""
    families = (*_families(dialect), _PACKAGES)
    for name, qualifiers in _calls(tree):
        family = _denied(name, families)
        family = family or next((f for q in qualifiers if (f := _denied(q, (_PACKAGES,)))), None)
        if family is not None:
            raise _refusal(".".join([*qualifiers, name]), family)


# Any denied name followed by "(" (or a package name by "."), also inside comments and string
# literals: the database may split the text differently from the parser, so the text itself must
# not hold one. Quotes and comments may stand between name and parenthesis.
_START = r"""(?<![\w$])["`\[]?"""
_GAP = r"""(?![\w$])["`\]]?(?:\s|/\*.*?\*/|--[^\n]*\n|\#[^\n]*\n)*"""


@functools.lru_cache(maxsize=32)
def _text_patterns(dialect: str | None) -> tuple[re.Pattern[str], ...]:
    def compile_(families: tuple[_Family, ...], follow: str) -> re.Pattern[str]:
        names = "|".join(f"(?:{p})" for f in families for p in f.patterns)
        return re.compile(f"{_START}({names}){_GAP}{follow}", re.IGNORECASE | re.DOTALL)

    return compile_(_families(dialect), r"\("), compile_((_PACKAGES,), r"[.(]")


def check_text_calls(text: str, dialect: str | None) -> None:
    """Refuse text that mentions a denied call, wherever it is (a second net under `check_calls`)."""
    for pattern in _text_patterns(dialect):
        match = pattern.search(text)
        if match:
            family = _denied(match.group(1), (*_families(dialect), _PACKAGES)) or _PACKAGES
            raise _refusal(match.group(1), family, " (in the text, perhaps in a comment or a string)")
