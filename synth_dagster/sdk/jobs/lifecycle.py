"""`JobHandle` (`g.training`, `sd.generation`): start, wait, progress, cancel and logs of a record's job.

The handle owns the lifecycle; the record it belongs to gives it the store, its paths and status
(`JobRecord`) and says what its kind of job needs (`_check_can_start`, `_planned_steps`).
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from synth_dagster.domain import JobProgress, ProgressStatus, ProgressStep
from synth_dagster.sdk.errors import JobFailedError, JobStateError
from synth_dagster.sdk.frames import save_path
from synth_dagster.sdk.jobs import launcher
from synth_dagster.sdk.jobs.state import (
    ACTIVE,
    HOST,
    TRAINING,
    Paths,
    abandon,
    age_seconds,
    now,
    process_alive,
    read_progress,
    write_state,
)
from synth_dagster.sdk.jobs.tracker import queued_progress
from synth_dagster.sdk.progress import JobDisplay
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)
CANCEL_GRACE_SECONDS = 6.0  # how long cancel() waits for the worker to stop by itself
CLAIM_TIMEOUT_SECONDS = 60.0  # a start claim older than this whose job never got queued is stale
CLAIM_REREAD_SECONDS = 0.5  # how long a loser waits for the winner to finish writing its claim


class JobRecord(Protocol):
    """What a handle needs of its record (a generator or a synthetic dataset)."""

    store: Store
    paths: Paths
    quiet: bool
    _state: dict[str, Any]

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    def _refresh(self) -> dict[str, Any]:
        """Re-read the status (an active job whose worker is gone becomes FAILED) and keep it."""
        ...

    def _check_can_start(self) -> None:
        """Raise if the record's inputs are missing (training data, a trained generator)."""
        ...

    def _planned_steps(self) -> list[ProgressStep]: ...


class JobHandle:
    """`g.training` / `sd.generation`: start, wait, progress, cancel and logs of the record's job."""

    def __init__(self, record: JobRecord):
        self._record = record
        self._paths = record.paths
        self._kind = record.paths.kind
        self._store = record.store

    def __repr__(self) -> str:
        return f"<{self._kind.name} of {self._record!r}>"

    def _what(self) -> str:
        return f"{self._kind.noun} {self._record.id}"

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Queue the job and start its worker process; returns at once."""
        state = self._record._refresh()
        status = state["status"]
        if status in ACTIVE:
            raise JobStateError(
                f"{self._what()} is already {status}; wait with .{self._kind.name}.wait() "
                f"or stop it with .{self._kind.name}.cancel()"
            )
        if status == ProgressStatus.DONE.value:
            hint = (
                "use .clone() or .clone('continue') to train again"
                if self._kind is TRAINING
                else "create a new synthetic dataset with client.generate(...)"
            )
            raise JobStateError(f"{self._what()} is already DONE; {hint}")
        self._record._check_can_start()
        job_id = str(uuid.uuid4())
        self._claim(state.get("job_id"), job_id)
        state.update(
            status=ProgressStatus.QUEUED.value,
            job_id=job_id,
            queued_at=now(),
            started_at=None,
            finished_at=None,
            error=None,
        )
        store, paths = self._store, self._paths
        store.write_json(paths.progress, queued_progress(job_id, self._record._planned_steps()))
        store.write_bytes(
            paths.log(job_id), f"{now()} INFO job {job_id} queued by pid {os.getpid()} on {HOST}\n".encode()
        )
        write_state(store, paths, state)
        self._record._state = state
        try:
            launcher.launch(store, self._kind.name, self._record.id, job_id)
        except Exception as exc:
            cause = f"could not start the worker process: {exc}"
            self._record._state = abandon(store, paths, job_id, cause)
            raise

    def _claim(self, previous_job: str | None, job_id: str) -> None:
        """Make sure only one client starts the next job (two `start()` calls race for one claim file)."""
        store = self._store
        claim = self._paths.claim(previous_job)
        if store.create_exclusive(claim, f"{job_id} {now()}".encode()):
            return
        claimed = (store.read_json_or_none(self._paths.status) or {}).get("job_id")
        other, at = self._read_claim(claim)
        if at is None:
            # empty: the winner created the file and is writing it right now; look again
            time.sleep(CLAIM_REREAD_SECONDS)
            other, at = self._read_claim(claim)
        # a claim whose job never got queued belongs to a client that died while starting
        if other != claimed and age_seconds(at) > CLAIM_TIMEOUT_SECONDS:
            store.delete(claim)
            if store.create_exclusive(claim, f"{job_id} {now()}".encode()):
                return
        raise JobStateError(
            f"{self._what()} was just started by another client; follow it with .{self._kind.name}.wait()"
        )

    def _read_claim(self, claim: str) -> tuple[str, str | None]:
        """(job id, claimed at) of a claim file; ("", None) while it is missing or still empty."""
        try:
            other, at = self._store.read_bytes(claim).decode().split(" ", 1)
        except (FileNotFoundError, ValueError):
            return "", None
        return other, at

    # ------------------------------------------------------------- follow it
    def wait(self, progress_bar: bool = True, interval: float = 2) -> None:
        """Poll until the job has ended. Raises JobFailedError if it FAILED (see `logs()`)."""
        if interval <= 0:
            raise ValueError("interval must be a positive number of seconds")
        show = progress_bar and not self._record.quiet
        title = f"{self._kind.name.capitalize()} {self._record.name or self._record.id}"
        with JobDisplay(show, title) as display:
            while True:
                state = self._record._refresh()
                if show:
                    display.update(read_progress(self._store, self._paths))
                if state["status"] not in ACTIVE:
                    break
                time.sleep(interval)
        status = state["status"]
        if status in (ProgressStatus.NEW.value, ProgressStatus.CONTINUE.value):
            raise JobStateError(f"{self._what()} has not been started; call .{self._kind.name}.start()")
        if status == ProgressStatus.FAILED.value:
            raise JobFailedError(
                f"{self._kind.name} of {self._what()} failed: {state.get('error')}; "
                f"the full log is in .{self._kind.name}.logs()"
            )

    def progress(self) -> JobProgress:
        """The job's progress, with one entry per step (training steps include loss messages)."""
        state = self._record._refresh()
        status = ProgressStatus(state["status"])
        progress = read_progress(self._store, self._paths)
        if progress is None or progress.id != state.get("job_id"):
            return JobProgress(id=state.get("job_id"), status=status, steps=[])
        if status.is_terminal and progress.status is not status:
            progress.status = status  # the status file is the truth (a job ended by a client)
        return progress

    def logs(self, file_path: str | os.PathLike[str] | None = None) -> Path:
        """Save the log of the latest job to `file_path` (a file or folder; default: working folder)."""
        job_id = self._record._refresh().get("job_id")
        if not job_id:
            raise JobStateError(f"{self._what()} has no {self._kind.name} job yet, so there are no logs")
        try:
            text = self._store.read_bytes(self._paths.log(job_id))
        except FileNotFoundError:
            text = b""
        default = f"{self._kind.noun.replace(' ', '-')}-{self._record.id[:8]}-{self._kind.name}.log"
        target = save_path(file_path, default)
        target.write_bytes(text)
        return target

    # ------------------------------------------------------------------ stop
    def cancel(self) -> None:
        """Ask the job to stop and wait (a few seconds) until it has; a finished job is left as it is."""
        state = self._record._refresh()
        if state["status"] not in ACTIVE:
            return
        job_id = state["job_id"]
        self._store.write_bytes(self._paths.cancel_flag(job_id), b"")
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self._record._refresh()["status"] not in ACTIVE:
                return
        info = self._store.read_json_or_none(self._paths.worker) or {}
        same_host = info.get("job_id") == job_id and info.get("host") == HOST
        if job_id not in launcher.RUNNING and not same_host:
            log.warning(
                "%s: the worker on %s has not stopped yet; it will stop at its next check",
                self._what(),
                info.get("host", "another host"),
            )
            return

        def stop() -> None:
            if (
                not launcher.stop(job_id)
                and same_host
                and process_alive(int(info["pid"]), info.get("start_ticks"))
            ):
                os.kill(int(info["pid"]), signal.SIGTERM)

        self._record._state = abandon(
            self._store,
            self._paths,
            job_id,
            f"canceled; the worker did not stop within {CANCEL_GRACE_SECONDS:.0f} s and was terminated",
            ProgressStatus.CANCELED,
            stop_worker=stop,
        )
