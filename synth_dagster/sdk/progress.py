"""Showing progress: rich progress bars in terminals and notebooks, or nothing when quiet."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from synth_dagster.domain import JobProgress, ProgressStatus
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, no_progress

# The bar and the elapsed time keep their width on a narrow terminal; the description and the note
# share what is left and are cut with an ellipsis (rich would otherwise shrink the bar to a few
# characters and cut the time). Below PERCENT_TERMINAL the percentage is left out: the bar shows it.
BAR_WIDTH = 20
WIDE_BAR_WIDTH = 40
PERCENT_TERMINAL = 100
WIDE_BAR_TERMINAL = 140
ELAPSED_WIDTH = 7  # 0:00:00
PERCENT_WIDTH = 4  # 100%
NOTE_WIDTH = 22  # loss 29.904 val 30.262


def progress_bars(note_field: str, percent: bool, console: Any = None) -> Any:
    """A rich Progress: description, bar, (percentage,) the note in `task.fields[note_field]`, elapsed
    time; laid out for the console's width (default: rich's console, whose width follows $COLUMNS)."""
    from rich import get_console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    console = console or get_console()
    bar = WIDE_BAR_WIDTH if console.width >= WIDE_BAR_TERMINAL else BAR_WIDTH
    percent = percent and console.width >= PERCENT_TERMINAL
    columns = 5 if percent else 4
    fixed = bar + ELAPSED_WIDTH + (PERCENT_WIDTH if percent else 0) + (columns - 1)  # one space apart
    free = max(console.width - fixed - 1, 12)  # the last cell of a line stays free: no wrapping
    note = min(free // 2, NOTE_WIDTH)

    def text(template: str, max_width: int) -> Any:
        return TextColumn(
            template, table_column=Column(no_wrap=True, overflow="ellipsis", max_width=max_width)
        )

    parts = [text("[bold]{task.description}", free - note), BarColumn(bar_width=bar)]
    if percent:
        parts.append(TaskProgressColumn())
    parts += [text(f"{{task.fields[{note_field}]}}", note), TimeElapsedColumn()]
    return Progress(*parts, console=console)


@contextlib.contextmanager
def progress_display(enabled: bool, description: str) -> Iterator[ProgressCallback]:
    """A bar for engine events of an operation running in this process."""
    if not enabled:
        yield no_progress
        return
    with progress_bars("status", percent=False) as bar:
        task = bar.add_task(description, total=1.0, status="")

        def update(event: EngineProgress) -> None:
            fraction = event.completed / event.total if event.total else 0.0
            bar.update(task, completed=min(fraction, 1.0), status=event.message[-70:])

        yield update
        bar.update(task, completed=1.0)


class JobDisplay:
    """Bars for a job polled from the store: one for the whole job, one per step once it starts."""

    def __init__(self, enabled: bool, title: str):
        self.enabled = enabled
        self.title = title
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> JobDisplay:
        if self.enabled:
            self._bar = progress_bars("note", percent=True)
            self._bar.__enter__()
            self._tasks["job"] = self._bar.add_task(self.title, total=1, note="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def update(self, progress: JobProgress | None) -> None:
        if self._bar is None or progress is None:
            return
        bar = self._bar
        job_total = max(progress.progress.max or 1, 1) if progress.progress else 1
        job_done = progress.progress.value or 0 if progress.progress else 0
        status = progress.status.value if progress.status else ""
        bar.update(self._tasks["job"], total=job_total, completed=job_done, note=status)
        for step in progress.steps or []:
            if step.status in (None, ProgressStatus.NEW, ProgressStatus.QUEUED):
                continue
            key = step.id
            name = f"{step.model_label or ''} {step.step_code.value if step.step_code else ''}".strip()
            total = max(step.progress.max or 1, 1) if step.progress else 1
            done = (step.progress.value or 0) if step.progress else 0
            note = ""
            if step.messages:
                last = step.messages[-1]
                if last.get("loss") is not None:
                    note = f"loss {last['loss']:.3f} val {last.get('val_loss') or 0:.3f}"
            if key not in self._tasks:
                self._tasks[key] = bar.add_task(f"  {name}", total=total, note=note)
            bar.update(self._tasks[key], total=total, completed=done, note=note)
