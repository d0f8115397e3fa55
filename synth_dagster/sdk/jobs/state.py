"""Job state shared by the client and the worker: paths, status, failure, clean-up and process checks.

A record (generator or synthetic dataset) has at most one job at a time. Its `status.json` says
which job is the latest (`job_id`), which job's artifacts are published (`artifact`) and the status
NEW -> QUEUED -> IN_PROGRESS -> DONE / FAILED / CANCELED. Terminal statuses are written through
`finish`, which never overwrites another terminal status, so a worker and a client that both react
to the same event cannot undo each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_dagster.domain import JobProgress, ProgressStatus
from synth_dagster.domain.names import path_component
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)

HOST = socket.gethostname()
HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 90.0  # no heartbeat for this long: the worker is gone
START_TIMEOUT_SECONDS = 180.0  # QUEUED without a worker for this long: it never started
ACTIVE = {ProgressStatus.QUEUED.value, ProgressStatus.IN_PROGRESS.value}
_abandon_lock = threading.RLock()
TERMINAL = {ProgressStatus.DONE.value, ProgressStatus.FAILED.value, ProgressStatus.CANCELED.value}
SEED_PREFIX = "seed-"  # job input files of seeds for generation


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def age_seconds(timestamp: str | None) -> float:
    if not timestamp:
        return float("inf")
    return (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(timestamp)).total_seconds()


def scratch_dir(job_id: str) -> Path:
    """The worker's local working folder for a job (on the worker's machine)."""
    return Path(tempfile.gettempdir()) / "synth-dagster-jobs" / job_id


def table_file(name: str) -> str:
    """A table name as a file name (table names may contain '/', '..' or other odd characters)."""
    return path_component(name, f"table name {name!r}")


@dataclass(frozen=True)
class JobKind:
    name: str  # "training" | "generation"
    folder: str
    noun: str


TRAINING = JobKind("training", "generators", "generator")
GENERATION = JobKind("generation", "synthetic-datasets", "synthetic dataset")
KINDS = {k.name: k for k in (TRAINING, GENERATION)}


class Paths:
    """Where the files of one record and its jobs live in the store."""

    def __init__(self, kind: JobKind, record_id: str):
        self.kind = kind
        self.id = record_id
        self.directory = f"{kind.folder}/{record_id}"

    @property
    def record(self) -> str:
        return f"{self.directory}/record.json"

    @property
    def status(self) -> str:
        return f"{self.directory}/status.json"

    @property
    def progress(self) -> str:
        return f"{self.directory}/progress.json"

    @property
    def input_dir(self) -> str:
        return f"{self.directory}/job/input"

    def input_file(self, table: str, prefix: str = "") -> str:
        return f"{self.input_dir}/{prefix}{table_file(table)}.parquet"

    @property
    def worker(self) -> str:
        return f"{self.directory}/job/worker.json"

    def claim(self, previous_job: str | None) -> str:
        return f"{self.directory}/job/claim-{previous_job or 'none'}"

    def cancel_flag(self, job_id: str) -> str:
        return f"{self.directory}/job/cancel-{job_id}"

    def log(self, job_id: str) -> str:
        return f"{self.directory}/logs/{job_id}.log"

    def artifacts(self, job_id: str) -> str:
        return f"{self.directory}/artifacts/{job_id}"

    def qa(self, job_id: str) -> str:
        return f"{self.directory}/qa/{job_id}"


# ---------------------------------------------------------------------------- status


def new_state() -> dict[str, Any]:
    return {
        "status": ProgressStatus.NEW.value,
        "job_id": None,
        "artifact": None,
        "queued_at": None,
        "started_at": None,
        "finished_at": None,
        "error": None,
        "tables": [],
    }


def read_state(store: Store, paths: Paths) -> dict[str, Any]:
    state = store.read_json_or_none(paths.status)
    return state if state is not None else new_state()


def write_state(store: Store, paths: Paths, state: dict[str, Any]) -> None:
    store.write_json(paths.status, state)


def finish(
    store: Store,
    paths: Paths,
    job_id: str,
    status: ProgressStatus,
    error: str | None = None,
    **results: Any,
) -> tuple[dict[str, Any], bool]:
    """Set a terminal status for `job_id` unless the job already has one. Returns (state, changed)."""
    state = read_state(store, paths)
    if state.get("job_id") != job_id or state["status"] in TERMINAL:
        return state, False
    state.update(results)
    state.update(status=status.value, error=error, finished_at=now())
    write_state(store, paths, state)
    return state, True


# ---------------------------------------------------------------------------- logs and progress


def append_log(store: Store, paths: Paths, job_id: str, line: str) -> None:
    try:
        text = store.read_bytes(paths.log(job_id)).decode()
    except FileNotFoundError:
        text = ""
    store.write_bytes(paths.log(job_id), (text + f"{now()} {line}\n").encode())


def read_progress(store: Store, paths: Paths) -> JobProgress | None:
    data = store.read_json_or_none(paths.progress)
    return JobProgress.model_validate(data) if data else None


def _close_progress(
    store: Store, paths: Paths, job_id: str, status: ProgressStatus, error: str | None
) -> None:
    progress = read_progress(store, paths)
    if progress is None or progress.id != job_id:
        return
    for step in progress.steps or []:
        if step.status is not None and not step.status.is_terminal:
            step.status = status if step.status is ProgressStatus.IN_PROGRESS else ProgressStatus.CANCELED
            if step.status is ProgressStatus.FAILED:
                step.error_message = error
    progress.status = status
    progress.end_date = dt.datetime.now(dt.UTC)
    store.write_json(paths.progress, progress.model_dump(mode="json"))


# ---------------------------------------------------------------------------- failure and clean-up


def abandon(
    store: Store,
    paths: Paths,
    job_id: str,
    cause: str,
    status: ProgressStatus = ProgressStatus.FAILED,
    stop_worker: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """End a job whose worker is gone (or is being stopped): cause in the log, clean-up, terminal status.

    The status comes last, so whoever sees it also sees the log line and a cleaned-up store. The lock
    keeps this process's watcher from reporting a worker that `stop_worker` is terminating on purpose.
    """
    with _abandon_lock:
        state = read_state(store, paths)
        if state.get("job_id") != job_id or state["status"] in TERMINAL:
            return state
        if stop_worker is not None:
            stop_worker()
        append_log(store, paths, job_id, f"{'ERROR' if status is ProgressStatus.FAILED else 'INFO'} {cause}")
        _close_progress(store, paths, job_id, status, cause)
        clean_up(store, paths, state)
        shutil.rmtree(scratch_dir(job_id), ignore_errors=True)  # a dead worker on this machine left it
        state, changed = finish(
            store, paths, job_id, status, cause if status is ProgressStatus.FAILED else None
        )
        if changed:
            log.warning("%s %s: %s", paths.kind.noun, paths.id, cause)
        return state


def clean_up(store: Store, paths: Paths, state: dict[str, Any]) -> None:
    """After a job: drop its private inputs and every artifact that the status does not publish."""
    keep = state.get("artifact")
    store.delete(paths.input_dir)
    for folder in ("artifacts", "qa"):
        for name in store.list_dir(f"{paths.directory}/{folder}"):
            if name != keep:
                store.delete(f"{paths.directory}/{folder}/{name}")
    for name in store.list_dir(f"{paths.directory}/job"):
        if name.startswith("cancel-"):
            store.delete(f"{paths.directory}/job/{name}")
    info = store.read_json_or_none(paths.worker)
    if info is not None and info.get("job_id") == state.get("job_id"):
        store.delete(paths.worker)
    store.sweep(paths.directory)


# ---------------------------------------------------------------------------- liveness


def process_start_ticks(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, start_ticks: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    current = process_start_ticks(pid)
    return not (start_ticks and current and current != start_ticks)


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "is still running"
    if exitcode < 0:
        try:
            return f"was killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"
