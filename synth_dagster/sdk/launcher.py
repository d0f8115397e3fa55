"""Start worker processes and watch them from the client that started them.

Start method: "forkserver" where available (the server preloads torch and the engine once, so a job
starts in milliseconds), else "spawn". Never plain "fork": torch's thread pools do not survive it.
Override with SYNTH_DAGSTER_START_METHOD=spawn|forkserver.

Each job gets a watcher thread in the starting process: when the worker exits without having set a
terminal status (killed, out of memory, crashed interpreter), the watcher marks the job FAILED and
writes the cause to the job's log. Clients in other processes detect the same through the worker's
pid (same host) or its heartbeat (any host); see `jobs.check_liveness`.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import threading
from dataclasses import dataclass, field

from synth_dagster.sdk.jobs import KINDS, Paths, abandon, describe_exit, read_state
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)
START_METHOD_ENV = "SYNTH_DAGSTER_START_METHOD"

_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


@dataclass
class Worker:
    """A worker process started by this process. Only its watcher thread waits on the process:
    multiprocessing's forkserver reads each exit status once from a pipe, and a second thread
    polling at the same time reads nothing and records exit code 255 instead of the real one."""

    process: multiprocessing.process.BaseProcess
    ended: threading.Event = field(default_factory=threading.Event)
    exitcode: int | None = None


# job id -> worker process started by this process
RUNNING: dict[str, Worker] = {}


def _get_context() -> multiprocessing.context.BaseContext:
    global _context
    with _lock:
        if _context is None:
            available = multiprocessing.get_all_start_methods()
            method = os.environ.get(START_METHOD_ENV) or (
                "forkserver" if "forkserver" in available else "spawn"
            )
            if method not in ("forkserver", "spawn"):
                raise ValueError(f"{START_METHOD_ENV} must be 'forkserver' or 'spawn', got {method!r}")
            _context = multiprocessing.get_context(method)
            if method == "forkserver":
                # why: a no-op if another library started the fork server first; then jobs import lazily
                _context.set_forkserver_preload(["synth_dagster.sdk.worker"])  # type: ignore[attr-defined]
        return _context


def ensure_not_bootstrapping() -> None:
    """Refuse to create or start jobs while a worker process is importing the user's main module.

    why: "spawn" and "forkserver" workers import the main module; a script without an
    `if __name__ == "__main__":` guard would otherwise create records from inside every worker.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "synth_dagster jobs run in worker processes, which import your main module; this script "
            "creates jobs at import time. Put that code under `if __name__ == '__main__':`"
        )


def launch(store: Store, kind: str, record_id: str, job_id: str) -> None:
    """Start the worker for a job that is QUEUED in the store."""
    from synth_dagster.sdk.worker import run_job

    spec = {
        "store_url": store.url,
        "storage_options": store.storage_options,
        "kind": kind,
        "record_id": record_id,
        "job_id": job_id,
        "env": dict(os.environ),
    }
    process = _get_context().Process(target=run_job, args=(spec,), name=f"synth-dagster-{kind}-{job_id[:8]}")
    process.start()
    worker = Worker(process)
    RUNNING[job_id] = worker
    threading.Thread(
        target=_watch, args=(worker, store, kind, record_id, job_id), daemon=True, name="synth-dagster-watch"
    ).start()


def _watch(worker: Worker, store: Store, kind: str, record_id: str, job_id: str) -> None:
    process = worker.process
    process.join()
    worker.exitcode = process.exitcode
    worker.ended.set()
    paths = Paths(KINDS[kind], record_id)
    try:
        state = read_state(store, paths)
        if state.get("job_id") != job_id or state["status"] not in ("QUEUED", "IN_PROGRESS"):
            return
        cause = (
            f"the worker process (pid {process.pid}) {describe_exit(worker.exitcode)} before the job ended"
        )
        if state["status"] == "QUEUED":
            cause += (
                "; it failed while starting. If you run a script, guard its entry point with "
                "`if __name__ == '__main__':` (worker processes import the main module)"
            )
        abandon(store, paths, job_id, cause)
    except Exception:  # never let the watcher die loudly in a user's session
        log.exception("could not record the end of job %s", job_id)
    finally:
        RUNNING.pop(job_id, None)  # last: until here, readers wait for this watcher's verdict


def stop(job_id: str, timeout: float = 3.0) -> bool:
    """Terminate a worker started by this process; True if there was one."""
    worker = RUNNING.get(job_id)
    if worker is None:
        return False
    worker.process.terminate()
    if not worker.ended.wait(timeout):
        worker.process.kill()
        worker.ended.wait(timeout)
    return True
