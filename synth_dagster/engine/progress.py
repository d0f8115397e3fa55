"""One progress type for every long engine operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class EngineProgress:
    """A progress event. `step` names the operation (e.g. TRAIN_MODEL), `completed` of `total` units;
    `table` is the table it belongs to (None for events of the whole generator)."""

    step: str
    completed: float
    total: float
    message: str = ""
    epoch: float | None = None
    loss: float | None = None
    val_loss: float | None = None
    elapsed: float = 0.0
    table: str | None = None
    epsilon: float | None = None  # differential privacy: ε spent so far (value protection + training)


ProgressCallback = Callable[[EngineProgress], None]
StopCheck = Callable[[], bool]


def no_progress(_: EngineProgress) -> None:
    return None


def never_stop() -> bool:
    return False


def for_table(
    on_progress: ProgressCallback, table: str, step: str | None = None, what: str = ""
) -> ProgressCallback:
    """Events of one table's model, tagged with the table (and, e.g. for key matchers, which are not
    a step of their own, with another step name and a note of what they are about)."""

    def forward(event: EngineProgress) -> None:
        message = f"{what}: {event.message}" if what else event.message
        on_progress(replace(event, table=table, step=step or event.step, message=message))

    return forward
