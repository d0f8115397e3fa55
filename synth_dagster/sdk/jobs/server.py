"""The fork server: `python -m synth_dagster.sdk.jobs.server REQUESTS_FD REPLIES_FD`.

Started once per client process by `launcher`. It imports the worker (torch, pandas, the engine)
once, then forks one worker per job request, so a job starts in milliseconds. It never imports the
client's main module. Messages are JSON (`jobs.messages`, never pickles). Requests are `[job_id, spec]`; replies are `["started", job_id, pid]` and,
when a worker has ended, `["exited", pid, exitcode]` (negative: killed by that signal). The server
is single-threaded (no thread pools to break at fork) and ends when the client closes its end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from multiprocessing.connection import Connection, wait
from typing import Any

from synth_dagster.sdk.jobs.messages import receive, send
from synth_dagster.sdk.jobs.worker import run_job  # the preload: every fork starts with it imported


def _reap(children: set[int], replies: Connection) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        send(replies, ["exited", pid, os.waitstatus_to_exitcode(status)])


def _run_child(spec: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: drop the server's pipes and signal set-up, run the job, exit."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in fds:
            os.close(fd)
        run_job(spec)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(requests_fd: int, replies_fd: int) -> None:
    requests = Connection(requests_fd, writable=False)
    replies = Connection(replies_fd, readable=False)
    # why: Ctrl-C in the terminal reaches the workers, which cancel their jobs; the server stays to
    # report how they ended
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    children: set[int] = set()
    with contextlib.suppress(EOFError, BrokenPipeError):
        while True:
            ready = wait([requests, wake_r])
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
                _reap(children, replies)
            if requests in ready:
                job_id, spec = receive(requests)
                pid = os.fork()
                if pid == 0:
                    _run_child(spec, [requests_fd, replies_fd, wake_r, wake_w])
                children.add(pid)
                send(replies, ["started", job_id, pid])


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
