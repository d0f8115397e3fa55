"""Engine progress as run-log lines: at most one line every few seconds.

Why throttle: the engine reports every optimizer step; forwarding each one would flood the event
log (every line is a stored event in Dagster).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from synth_dagster.engine.progress import EngineProgress

DEFAULT_INTERVAL_SECONDS = 5.0


def describe(event: EngineProgress) -> str:
    """One line for a progress event, e.g. `TRAIN_MODEL 40% - orders: epoch 2: loss 2.31`."""
    parts = [event.step]
    if event.total:
        parts.append(f"{min(event.completed / event.total, 1.0):.0%}")
    if event.message:
        parts.append(f"- {event.message}")
    else:  # no message: say what the figures are
        if event.epoch is not None:
            parts.append(f"epoch {event.epoch:.1f}")
        if event.loss is not None:
            parts.append(f"loss {event.loss:.3f}")
        if event.val_loss is not None:
            parts.append(f"val_loss {event.val_loss:.3f}")
    return " ".join(parts)


class ThrottledProgress:
    """A progress callback that writes `prefix + describe(event)` at most every `interval` seconds."""

    def __init__(
        self,
        write: Callable[[str], None],
        prefix: str = "",
        interval: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._prefix = prefix
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self.lines = 0
        self.last_event: EngineProgress | None = None

    def __call__(self, event: EngineProgress) -> None:
        self.last_event = event
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        self.lines += 1
        self._write(self._prefix + describe(event))
