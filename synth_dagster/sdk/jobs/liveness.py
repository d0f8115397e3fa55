"""Is an active job's worker still there? The client's check, run whenever it re-reads a status.

A worker started by this process is judged by its exit status (the launcher has it); any other on
this host by its pid, and one on another host by its heartbeat in `job/worker.json`.
"""

from __future__ import annotations

from typing import Any

from synth_dagster.sdk.jobs import launcher
from synth_dagster.sdk.jobs.state import (
    ACTIVE,
    HOST,
    STALE_AFTER_SECONDS,
    START_TIMEOUT_SECONDS,
    Paths,
    abandon,
    age_seconds,
    describe_exit,
    process_alive,
)
from synth_dagster.sdk.store import Store


def _exit_of_own_worker(job_id: str) -> str | None:
    """How a worker started by this process ended (with its signal), if this process started it."""
    worker = launcher.RUNNING.get(job_id)
    if worker is None:
        return None
    worker.ended.wait(5)  # the launcher learns the exit status; never poll the process here
    if worker.exitcode is None:
        return None
    return f"the worker process (pid {worker.pid}) {describe_exit(worker.exitcode)} before the job ended"


def check_liveness(store: Store, paths: Paths, state: dict[str, Any]) -> dict[str, Any]:
    """If an active job's worker is gone, mark the job FAILED (with the cause) and return the new state."""
    if state["status"] not in ACTIVE:
        return state
    job_id = state["job_id"]
    info = store.read_json_or_none(paths.worker)
    cause = None
    if info is not None and info.get("job_id") == job_id:
        pid = int(info["pid"])
        if info.get("host") == HOST and not process_alive(pid, info.get("start_ticks")):
            cause = _exit_of_own_worker(job_id) or (
                f"the worker process (pid {pid}) ended without reporting a result (killed or crashed)"
            )
        elif age_seconds(info.get("heartbeat_at")) > STALE_AFTER_SECONDS:
            cause = (
                f"the worker process (pid {pid} on {info.get('host')}) sent no heartbeat for "
                f"{STALE_AFTER_SECONDS:.0f} s; it was killed or lost its connection to the store"
            )
    elif age_seconds(state.get("queued_at")) > START_TIMEOUT_SECONDS:
        cause = f"the worker process did not start within {START_TIMEOUT_SECONDS:.0f} s"
    if cause is None:
        return state
    return abandon(store, paths, job_id, cause)
