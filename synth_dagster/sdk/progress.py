"""Showing engine progress: a rich progress bar in terminals and notebooks, or nothing when quiet."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from synth_dagster.engine.progress import EngineProgress, ProgressCallback, no_progress


@contextlib.contextmanager
def progress_display(enabled: bool, description: str) -> Iterator[ProgressCallback]:
    if not enabled:
        yield no_progress
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task(description, total=1.0, status="")

        def update(event: EngineProgress) -> None:
            fraction = event.completed / event.total if event.total else 0.0
            bar.update(task, completed=min(fraction, 1.0), status=event.message[-70:])

        yield update
        bar.update(task, completed=1.0)
