"""Start worker processes and watch them from the client that started them.

Workers never import the caller's main module: they run from `python -m` entry points of this
package, so a plain script needs no `if __name__ == "__main__":` guard. Two start methods, chosen
with SYNTH_DAGSTER_START_METHOD:
- "forkserver" (default where `os.fork` exists): one server per client process, started once as
  `python -m synth_dagster.sdk.jobs.server`; it imports torch and the engine once and forks a worker
  per job, so a job starts in milliseconds. The client itself never forks: torch's thread pools do
  not survive it.
- "spawn": a fresh `python -m synth_dagster.sdk.jobs.worker` per job (each start imports torch).

Each job gets a watcher thread in the starting process: when the worker exits without having set a
terminal status (killed, out of memory, crashed interpreter), the watcher marks the job FAILED and
writes the cause to the job's log. Clients in other processes detect the same through the worker's
pid (same host) or its heartbeat (any host); see `liveness.check_liveness`. A process that started
jobs waits for them when it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from synth_dagster.sdk.jobs.messages import encode, receive, send
from synth_dagster.sdk.jobs.state import KINDS, Paths, abandon, describe_exit, read_state
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)
START_METHOD_ENV = "SYNTH_DAGSTER_START_METHOD"
SERVER_MODULE = "synth_dagster.sdk.jobs.server"
WORKER_MODULE = "synth_dagster.sdk.jobs.worker"
SERVER_START_SECONDS = 300.0  # the first start imports torch and the engine; a cold disk is slow
_PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the folder that holds synth_dagster/

_lock = threading.Lock()
_server: _ForkServer | None = None
_watchers: set[threading.Thread] = set()
_exit_hook: list[bool] = []  # registered once


@dataclass
class Worker:
    """A worker process started by this process; `exitcode` is set once it has ended (None: unknown).

    Only one thread learns of the exit (the fork server's reader or the watcher of a spawned
    process); everyone else waits on `ended`."""

    pid: int
    ended: threading.Event = field(default_factory=threading.Event)
    exitcode: int | None = None

    def finished(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        self.ended.set()

    def signal(self, signum: int) -> None:
        if not self.ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


# job id -> worker process started by this process
RUNNING: dict[str, Worker] = {}


def start_method() -> str:
    method = os.environ.get(START_METHOD_ENV) or ("forkserver" if hasattr(os, "fork") else "spawn")
    if method not in ("forkserver", "spawn"):
        raise ValueError(f"{START_METHOD_ENV} must be 'forkserver' or 'spawn', got {method!r}")
    return method


def _child_env() -> dict[str, str]:
    """The environment of a worker or server: this one, with this package importable as it is here."""
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    # why not site-packages: there it is importable anyway, and ahead of the stdlib it could shadow it
    if _PACKAGE_ROOT.name not in ("site-packages", "dist-packages") and str(_PACKAGE_ROOT) not in paths:
        env["PYTHONPATH"] = os.pathsep.join([str(_PACKAGE_ROOT), *paths])
    return env


class _ForkServer:
    """The client's end of `python -m synth_dagster.sdk.jobs.server`: requests in, pids and exits out."""

    def __init__(self) -> None:
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", SERVER_MODULE, str(requests_r), str(replies_w)],
                pass_fds=(requests_r, replies_w),
                stdin=subprocess.DEVNULL,
                env=_child_env(),
            )
        finally:
            os.close(requests_r)
            os.close(replies_w)
        self.requests = Connection(requests_w, readable=False)
        self.replies = Connection(replies_r, writable=False)
        self.alive = True
        self._pending: dict[str, queue.Queue[Worker | str]] = {}
        self._workers: dict[int, Worker] = {}
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name="synth-dagster-forkserver").start()

    def start(self, job_id: str, spec: dict[str, Any]) -> Worker:
        answer: queue.Queue[Worker | str] = queue.Queue(1)
        with self._send_lock:
            self._pending[job_id] = answer
            send(self.requests, [job_id, spec])
        try:
            result = answer.get(timeout=SERVER_START_SECONDS)
        except queue.Empty:
            result = f"the fork server did not answer within {SERVER_START_SECONDS:.0f} s"
        if isinstance(result, str):
            raise RuntimeError(result)
        return result

    def _read(self) -> None:
        try:
            while True:
                message = receive(self.replies)
                if message[0] == "started":
                    _, job_id, pid = message
                    worker = self._workers[pid] = Worker(pid)
                    self._pending.pop(job_id).put(worker)
                elif message[0] == "exited":
                    _, pid, exitcode = message
                    self._workers.pop(pid).finished(exitcode)
        except (EOFError, OSError):
            pass
        self.alive = False
        code = self.process.wait()
        for answer in self._pending.values():
            answer.put(f"the fork server process {describe_exit(code)}")
        for worker in self._workers.values():
            worker.finished(None)  # orphaned, maybe still running: the pid check judges it


def _server_for_jobs() -> _ForkServer:
    global _server
    with _lock:
        if _server is None or not _server.alive:
            _server = _ForkServer()
        return _server


def _spawn(spec: dict[str, Any]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", WORKER_MODULE, spec["job_id"]], stdin=subprocess.PIPE, env=_child_env()
    )
    assert process.stdin is not None
    with process.stdin:
        process.stdin.write(encode(spec))
    return process


def launch(store: Store, kind: str, record_id: str, job_id: str) -> None:
    """Start the worker for a job that is QUEUED in the store."""
    spec = {
        "store_url": store.url,
        "storage_options": store.storage_options,
        "kind": kind,
        "record_id": record_id,
        "job_id": job_id,
        "env": dict(os.environ),  # why: a fork server's children have the environment of the server
    }
    process = None
    if start_method() == "spawn":
        process = _spawn(spec)
        worker = Worker(process.pid)
    else:
        worker = _server_for_jobs().start(job_id, spec)
    RUNNING[job_id] = worker
    watcher = threading.Thread(
        target=_watch,
        args=(worker, process, store, Paths(KINDS[kind], record_id), job_id),
        daemon=True,
        name="synth-dagster-watch",
    )
    with _lock:
        if not _exit_hook:
            atexit.register(_wait_for_workers)
            _exit_hook.append(True)
        _watchers.add(watcher)
    watcher.start()


def _watch(
    worker: Worker, process: subprocess.Popen[bytes] | None, store: Store, paths: Paths, job_id: str
) -> None:
    if process is not None:
        worker.finished(process.wait())
    worker.ended.wait()
    try:
        state = read_state(store, paths)
        if worker.exitcode is None or state.get("job_id") != job_id:
            return
        if state["status"] not in ("QUEUED", "IN_PROGRESS"):
            return
        cause = f"the worker process (pid {worker.pid}) {describe_exit(worker.exitcode)} before the job ended"
        if state["status"] == "QUEUED":
            cause += "; it failed while starting (its output went to this process's stderr)"
        abandon(store, paths, job_id, cause)
    except Exception:  # never let the watcher die loudly in a user's session
        log.exception("could not record the end of job %s", job_id)
    finally:
        RUNNING.pop(job_id, None)  # last: until here, readers wait for this watcher's verdict
        with _lock:
            _watchers.discard(threading.current_thread())


def _wait_for_workers() -> None:
    """At exit, wait for the jobs this process started (as for child processes of multiprocessing)."""
    with _lock:
        watchers = list(_watchers)
    for watcher in watchers:
        watcher.join()


def stop(job_id: str, timeout: float = 3.0) -> bool:
    """Terminate a worker started by this process; True if there was one."""
    worker = RUNNING.get(job_id)
    if worker is None:
        return False
    worker.signal(signal.SIGTERM)
    if not worker.ended.wait(timeout):
        worker.signal(signal.SIGKILL)
        worker.ended.wait(timeout)
    return True
