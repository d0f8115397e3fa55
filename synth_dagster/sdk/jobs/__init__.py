"""Jobs: the lifecycle of a record's training or generation job, from start to worker exit.

- `state`: paths in the store, status, progress and log files, failure and clean-up (client and worker)
- `lifecycle`: `JobHandle` (`g.training`, `sd.generation`): start, claim, wait, progress, cancel, logs
- `launcher`: starts workers (through `server`, the fork server, or one process a job) and watches them
- `liveness`: whether an active job's worker is still there
- `worker` / `tracker`: the worker process (`python -m synth_dagster.sdk.jobs.worker`) and its progress

This package's namespace re-exports `state`, the part every other module reads.
"""

from synth_dagster.sdk.jobs.state import (
    ACTIVE,
    GENERATION,
    HEARTBEAT_SECONDS,
    HOST,
    KINDS,
    SEED_PREFIX,
    STALE_AFTER_SECONDS,
    START_TIMEOUT_SECONDS,
    TERMINAL,
    TRAINING,
    JobKind,
    Paths,
    abandon,
    age_seconds,
    append_log,
    clean_up,
    describe_exit,
    finish,
    new_state,
    now,
    process_alive,
    process_start_ticks,
    read_progress,
    read_state,
    scratch_dir,
    table_file,
    write_state,
)

__all__ = [
    "ACTIVE",
    "GENERATION",
    "HEARTBEAT_SECONDS",
    "HOST",
    "KINDS",
    "SEED_PREFIX",
    "STALE_AFTER_SECONDS",
    "START_TIMEOUT_SECONDS",
    "TERMINAL",
    "TRAINING",
    "JobKind",
    "Paths",
    "abandon",
    "age_seconds",
    "append_log",
    "clean_up",
    "describe_exit",
    "finish",
    "new_state",
    "now",
    "process_alive",
    "process_start_ticks",
    "read_progress",
    "read_state",
    "scratch_dir",
    "table_file",
    "write_state",
]
