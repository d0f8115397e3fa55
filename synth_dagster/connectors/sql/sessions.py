"""The query timeout on each new connection of a SQLAlchemy engine.

Every statement the connector sends (query(), schema reads, reads, writes) runs on one of these
connections, so each is bounded by `config.queryTimeout`:

- PostgreSQL, Redshift: `SET statement_timeout` (each statement; a streamed read is one FETCH per
  batch, so each batch is bounded, not the caller's time between batches);
- MariaDB: `max_statement_time` (every statement); MySQL: `max_execution_time` (SELECT only) and a
  socket read timeout a little above it for everything else;
- Oracle: the driver's `call_timeout` (each round trip);
- SQLite: a progress handler that interrupts a statement once it runs past the deadline;
- MSSQL, Hive, Databricks take it as connect arguments (dialects.py).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from synth_dagster.connectors.sql.dialects import Flavor
from synth_dagster.domain.connectors import ConnectorType

__all__ = ["install_query_timeout"]

SOCKET_GRACE = 10.0  # seconds the MySQL socket waits beyond the server-side limit
_SQLITE_STEPS = 10_000  # virtual-machine steps between deadline checks
_DEADLINE = "synth_dagster_deadline"


def install_query_timeout(engine: sa.Engine, flavor: Flavor, seconds: float) -> None:
    """Bound every statement on the engine's connections to `seconds`."""
    t = flavor.type
    if t in (ConnectorType.POSTGRES, ConnectorType.REDSHIFT):
        sa.event.listen(engine, "connect", lambda dbapi, _record: _postgres(dbapi, seconds))
    elif t in (ConnectorType.MYSQL, ConnectorType.MARIADB):
        sa.event.listen(engine, "connect", lambda dbapi, _record: _mysql(dbapi, seconds))
    elif t is ConnectorType.ORACLE:
        sa.event.listen(engine, "connect", lambda dbapi, _record: _oracle(dbapi, seconds))
    elif t is ConnectorType.SQLITE:
        sa.event.listen(engine, "connect", _sqlite_handler)
        sa.event.listen(engine, "before_cursor_execute", _sqlite_arm(seconds))


def _postgres(dbapi_connection: Any, seconds: float) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"SET statement_timeout = {max(1, int(seconds * 1000))}")
    finally:
        cursor.close()
    dbapi_connection.commit()  # a SET inside a rolled-back transaction would be undone


def _mysql(dbapi_connection: Any, seconds: float) -> None:
    mariadb = "mariadb" in str(dbapi_connection.get_server_info()).lower()
    if mariadb:
        statement = f"SET SESSION max_statement_time = {seconds:.3f}"
    else:
        statement = f"SET SESSION max_execution_time = {max(1, int(seconds * 1000))}"
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(statement)
    except Exception as exc:
        if "1193" not in str(exc):  # servers before MySQL 5.7.8 / MariaDB 10.1 lack the variable:
            raise  # the socket timeout below is their only bound
    finally:
        cursor.close()
    # the connect timeout also bounded the greeting (pymysql's read_timeout); from now on a read
    # may wait as long as a statement may run, and a little longer, so the server's error wins
    backstop = seconds + SOCKET_GRACE
    try:
        dbapi_connection._read_timeout = backstop
        dbapi_connection._sock.settimeout(backstop)
    except AttributeError:
        pass


def _oracle(dbapi_connection: Any, seconds: float) -> None:
    dbapi_connection.call_timeout = max(1, int(seconds * 1000))  # milliseconds per round trip


def _sqlite_handler(dbapi_connection: Any, record: Any) -> None:
    deadline = record.info.setdefault(_DEADLINE, [float("inf")])

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline[0] else 0  # non-zero: SQLite interrupts

    dbapi_connection.set_progress_handler(past_deadline, _SQLITE_STEPS)


def _sqlite_arm(seconds: float) -> Any:
    def arm(conn: sa.Connection, *_args: Any) -> None:
        deadline = conn.info.get(_DEADLINE)
        if deadline is not None:
            deadline[0] = time.monotonic() + seconds

    return arm
