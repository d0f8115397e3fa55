"""Progress of a mock run: per table, batches done of batches planned and rows so far.

The callback gets keyword arguments `table`, `progress` (batches done), `total` (batches planned),
`rows` (rows so far) and `elapsed_time` (seconds since the table started); it may be a plain or an
async function. Without a callback, a rich progress bar shows the same figures.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ProgressReporter"]


class ProgressReporter:
    def __init__(self, callback: Callable[..., Any] | None, *, bar: bool = True) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, Any]] = {}
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        if callback is None and bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rows]} rows"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.start()

    def start(self, table: str, total: int) -> None:
        with self._lock:
            self._state[table] = {"progress": 0, "total": total, "rows": 0, "t0": time.monotonic()}
            if self._bar is not None:
                self._tasks[table] = self._bar.add_task(f"mock {table}", total=total, rows=0)
        self._emit(table)

    def advance(self, table: str, rows: int) -> None:
        with self._lock:
            state = self._state[table]
            state["progress"] += 1
            state["rows"] += rows
            if self._bar is not None:
                self._bar.update(self._tasks[table], advance=1, rows=state["rows"])
        self._emit(table)

    def _emit(self, table: str) -> None:
        if self._callback is None:
            return
        with self._lock:
            s = self._state[table]
            kwargs = {
                "table": table,
                "progress": s["progress"],
                "total": s["total"],
                "rows": s["rows"],
                "elapsed_time": round(time.monotonic() - s["t0"], 3),
            }
        result = self._callback(**kwargs)
        if inspect.isawaitable(result):
            asyncio.run(_wait(result))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


async def _wait(awaitable: Any) -> Any:
    return await awaitable
