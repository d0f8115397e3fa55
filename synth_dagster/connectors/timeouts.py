"""The query timeout (`config.queryTimeout`): how each engine is told, and how a timeout is recognised.

Server databases enforce it themselves (statement_timeout, max_statement_time, call_timeout ...,
see the connectors); in-process engines (DuckDB, SQLite) are interrupted from outside once the
deadline passes.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator

__all__ = ["Watchdog", "is_timeout_message"]

# Driver messages of a statement cancelled for running too long (checked on the scrubbed text).
_TIMED_OUT = re.compile(
    r"canceling statement due to statement timeout|max_statement_time exceeded|"
    r"maximum statement execution time exceeded|call timeout of \d+ ms exceeded|"
    r"statement or warehouse timeout|cancelled by the client due to a timeout|"
    r"Adaptive Server connection timed out|query timed out after|job timed out|"
    r"exceeded the job timeout|^interrupted$",
    re.IGNORECASE,
)


def is_timeout_message(message: str) -> bool:
    """True for a driver's message about a statement cancelled by its timeout."""
    return bool(_TIMED_OUT.search(message.strip()))


class Watchdog:
    """Interrupt an in-process engine when one call into it runs past `seconds`.

    `with watchdog.arm(): ...` bounds one call (an execute, one batch of a stream), so time the
    caller spends between batches does not count, as with a server's per-statement timeout.
    """

    def __init__(self, seconds: float, interrupt: Callable[[], None], error: Callable[[], Exception]) -> None:
        self.seconds = seconds
        self._interrupt = interrupt
        self._error = error

    @contextlib.contextmanager
    def arm(self) -> Iterator[None]:
        fired = threading.Event()

        def fire() -> None:
            fired.set()
            self._interrupt()

        timer = threading.Timer(self.seconds, fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception:
            if fired.is_set():
                raise self._error() from None
            raise
        finally:
            timer.cancel()
