"""The query timeout (`config.queryTimeout`): how each engine is told, and how a timeout is recognised.

Server databases enforce it themselves (statement_timeout, max_statement_time, call_timeout ...,
see the connectors); in-process engines (DuckDB, SQLite) are interrupted from outside once the
deadline passes.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator

__all__ = ["Watchdog", "is_timeout_message"]

_IDLE = 1.0  # seconds without calls after which the watcher thread ends

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
    caller spends between batches does not count, as with a server's per-statement timeout. One
    watcher thread serves every call (a thread per batch would cost more than the batch); it ends
    after a second without calls.
    """

    def __init__(self, seconds: float, interrupt: Callable[[], None], error: Callable[[], Exception]) -> None:
        self.seconds = seconds
        self._interrupt = interrupt
        self._error = error
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._fired = False
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def arm(self) -> Iterator[None]:
        with self._cond:
            self._deadline = time.monotonic() + self.seconds
            self._fired = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="synth-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            yield
        except Exception:
            if self._fired:
                raise self._error() from None
            raise
        finally:
            with self._cond:
                self._deadline = None
                self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    if not self._cond.wait(timeout=_IDLE) and self._deadline is None:
                        self._thread = None
                        return
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._cond.wait(timeout=remaining)
                    continue
                self._fired, self._deadline = True, None
                self._interrupt()  # returns at once (it only flags the running call)
