"""One progress type for every long engine operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class EngineProgress:
    """A progress event. `step` names the operation (e.g. TRAIN_MODEL), `completed` of `total` units."""

    step: str
    completed: float
    total: float
    message: str = ""
    epoch: float | None = None
    loss: float | None = None
    val_loss: float | None = None
    elapsed: float = 0.0


ProgressCallback = Callable[[EngineProgress], None]
StopCheck = Callable[[], bool]


def no_progress(_: EngineProgress) -> None:
    return None


def never_stop() -> bool:
    return False
