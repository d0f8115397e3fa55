"""Progress and logs of a job: planned steps, the worker's updates, throttled writes to the store."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from synth_dagster.domain import (
    GeneratorConfig,
    JobProgress,
    ProgressStatus,
    ProgressStep,
    ProgressValue,
    StepCode,
    SyntheticDatasetConfig,
    TaskType,
)
from synth_dagster.engine.progress import EngineProgress
from synth_dagster.sdk.jobs.state import Paths, now
from synth_dagster.sdk.store import Store

# The engine's step names for the job steps they belong to.
ENGINE_STEPS = {
    "ANALYZE": StepCode.ANALYZE_TRAINING_DATA,
    "ENCODE": StepCode.ENCODE_TRAINING_DATA,
    "TRAIN_MODEL": StepCode.TRAIN_MODEL,
    "GENERATE_DATA": StepCode.GENERATE_DATA,
}


def label(table: str | None) -> str | None:
    return f"{table}:tabular" if table is not None else None


def _step(code: StepCode, task: TaskType, table: str | None = None) -> ProgressStep:
    return ProgressStep(
        step_code=code,
        task_type=task,
        model_label=label(table),
        compute_name="local",
        progress=ProgressValue(value=0, max=1),
    )


def training_steps(config: GeneratorConfig) -> list[ProgressStep]:
    steps = []
    for table in config.tables or []:
        mc = table.tabular_model_configuration
        codes = [
            StepCode.PULL_TRAINING_DATA,
            StepCode.ANALYZE_TRAINING_DATA,
            StepCode.ENCODE_TRAINING_DATA,
            StepCode.TRAIN_MODEL,
            StepCode.GENERATE_MODEL_REPORT_DATA,
        ]
        if mc is None or mc.enable_model_report is not False:
            codes.append(StepCode.CREATE_MODEL_REPORT)
        steps += [_step(code, TaskType.TRAIN_TABULAR, table.name) for code in codes]
    steps.append(_step(StepCode.FINALIZE_TRAINING, TaskType.FINALIZE_TRAINING))
    return steps


def generation_steps(config: SyntheticDatasetConfig, tables: list[str]) -> list[ProgressStep]:
    steps = []
    for name in tables:
        steps.append(_step(StepCode.GENERATE_DATA, TaskType.GENERATE_TABULAR, name))
        if config.table_configuration(name).enable_data_report is not False:
            steps.append(_step(StepCode.CREATE_DATA_REPORT, TaskType.GENERATE_TABULAR, name))
    if config.delivery is not None:
        steps.append(_step(StepCode.DELIVER_DATA, TaskType.FINALIZE_GENERATION))
    steps.append(_step(StepCode.FINALIZE_GENERATION, TaskType.FINALIZE_GENERATION))
    return steps


def queued_progress(job_id: str, steps: list[ProgressStep]) -> dict[str, Any]:
    return JobProgress(
        id=job_id,
        progress=ProgressValue(value=0, max=len(steps)),
        status=ProgressStatus.QUEUED,
        steps=steps,
    ).model_dump(mode="json")


class _LogHandler(logging.Handler):
    def __init__(self, tracker: JobTracker):
        super().__init__(logging.INFO)
        self.tracker = tracker

    def emit(self, record: logging.LogRecord) -> None:
        self.tracker.log(record.levelname, record.getMessage())


class JobTracker:
    """The worker's view of its job: steps, progress, log lines; written to the store now and then."""

    def __init__(self, store: Store, paths: Paths, job_id: str, steps: list[ProgressStep]):
        self.store = store
        self.paths = paths
        self.job_id = job_id
        self.progress = JobProgress(
            id=job_id,
            start_date=dt.datetime.now(dt.UTC),
            progress=ProgressValue(value=0, max=len(steps)),
            status=ProgressStatus.IN_PROGRESS,
            steps=steps,
        )
        try:  # keep what the client wrote when it queued the job
            self.lines = store.read_bytes(paths.log(job_id)).decode().splitlines()
        except FileNotFoundError:
            self.lines = []
        self.min_interval = 1.0 if store.is_local else 3.0
        self._last_flush = 0.0
        self._dirty = True
        self.handler = _LogHandler(self)

    # ------------------------------------------------------------------ logs
    def log(self, level: str, message: str) -> None:
        self.lines.append(f"{now()} {level} {message}")
        self._dirty = True

    def info(self, message: str) -> None:
        self.log("INFO", message)
        self.flush()

    # ----------------------------------------------------------------- steps
    def find(self, code: StepCode, table: str | None = None) -> ProgressStep | None:
        for step in self.progress.steps or []:
            if step.step_code is code and step.model_label == label(table):
                return step
        return None

    def begin(self, code: StepCode, table: str | None = None) -> None:
        step = self.find(code, table)
        if step is None or step.status is ProgressStatus.IN_PROGRESS:
            return
        for other in self.progress.steps or []:
            if other.status is ProgressStatus.IN_PROGRESS:
                self._close(other, ProgressStatus.DONE)
        step.status = ProgressStatus.IN_PROGRESS
        step.start_date = dt.datetime.now(dt.UTC)
        self.log("INFO", f"{step.model_label + ' ' if step.model_label else ''}{code.value} started")
        self.flush(force=True)  # step changes are rare and worth showing at once

    def advance(self, code: StepCode, table: str | None, value: float, maximum: float) -> None:
        self.begin(code, table)
        step = self.find(code, table)
        if step is not None:
            step.progress = ProgressValue(value=int(min(value, maximum)), max=max(int(maximum), 1))
            self._dirty = True

    def done(self, code: StepCode, table: str | None = None) -> None:
        self.begin(code, table)
        step = self.find(code, table)
        if step is not None:
            self._close(step, ProgressStatus.DONE)
        self.flush()

    def _close(self, step: ProgressStep, status: ProgressStatus) -> None:
        step.status = status
        step.end_date = dt.datetime.now(dt.UTC)
        if status is ProgressStatus.DONE and step.progress is not None:
            step.progress = ProgressValue(value=step.progress.max, max=step.progress.max)
        self._dirty = True

    def engine_event(self, event: EngineProgress) -> None:
        table = event.table
        code = ENGINE_STEPS.get(event.step)
        where = f"{table}: " if table else ""
        if code is None:
            if event.epoch is not None:  # e.g. a key matcher: logged, not a step of its own
                self.log("INFO", where + event.message)
                self.flush()
            return
        self.advance(code, table, event.completed, event.total)
        step = self.find(code, table) if event.epoch is not None else None
        if step is not None:
            step.messages = [
                *(step.messages or []),
                {
                    "epoch": event.epoch,
                    "loss": event.loss,
                    "val_loss": event.val_loss,
                    "elapsed": event.elapsed,
                },
            ]
            self.log("INFO", where + event.message)
        self.flush()

    # ----------------------------------------------------------------- store
    def flush(self, force: bool = False) -> None:
        if not self._dirty or (not force and time.monotonic() - self._last_flush < self.min_interval):
            return
        steps = self.progress.steps or []
        self.progress.progress = ProgressValue(
            value=sum(1 for s in steps if s.status is ProgressStatus.DONE), max=len(steps)
        )
        self.store.write_json(self.paths.progress, self.progress.model_dump(mode="json"))
        self.store.write_bytes(self.paths.log(self.job_id), ("\n".join(self.lines) + "\n").encode())
        self._last_flush = time.monotonic()
        self._dirty = False

    def close(self, status: ProgressStatus, error: str | None = None) -> None:
        for step in self.progress.steps or []:
            if step.status is ProgressStatus.IN_PROGRESS:
                self._close(step, ProgressStatus.DONE if status is ProgressStatus.DONE else status)
                if status is ProgressStatus.FAILED:
                    step.error_message = error
            elif step.status is not None and not step.status.is_terminal:
                # steps never reached: done when the job succeeded (e.g. skipped), else canceled
                self._close(
                    step, ProgressStatus.DONE if status is ProgressStatus.DONE else ProgressStatus.CANCELED
                )
        self.progress.status = status
        self.progress.end_date = dt.datetime.now(dt.UTC)
        self._dirty = True
        self.flush(force=True)
