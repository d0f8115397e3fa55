"""Running sdk jobs from a Dagster step: progress into the run log, clear failures, cancellation.

Training goes through the client's public job API (`train(start=False)`, then
`generator.training.start()` / `.progress()` / `.wait()` / `.cancel()`): the job runs in the sdk's
worker process, the step polls it, writes at most one progress line per interval (each line is a
stored event in Dagster, so per-step lines would flood the run log), and cancels the job if Dagster
stops the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dagster as dg

from synth_dagster.domain import GeneratorConfig, JobProgress, ProgressStatus
from synth_dagster.sdk import Generator, SynthClient

__all__ = ["DEFAULT_INTERVAL_SECONDS", "describe_job", "run_training_job", "train_generator"]

DEFAULT_INTERVAL_SECONDS = 5.0  # at most one progress line per interval
POLL_SECONDS = 0.5  # how often the step looks at the job; lines are throttled separately


def _compact(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def describe_job(progress: JobProgress) -> str | None:
    """One line for a job's progress: the running (or last finished) step, its share, its last message."""
    steps = progress.steps or []
    if not steps:
        return None
    current = next((s for s in steps if s.status == ProgressStatus.IN_PROGRESS), None)
    if current is None:
        done = [s for s in steps if s.status == ProgressStatus.DONE]
        current = done[-1] if done else steps[0]
    parts = [str(current.step_code.value if current.step_code else "step")]
    if current.model_label:
        parts.insert(0, current.model_label)
    if current.progress is not None:
        parts.append(f"{current.progress.fraction:.0%}")
    finished = sum(1 for s in steps if s.status == ProgressStatus.DONE)
    parts.append(f"(step {min(finished + 1, len(steps))}/{len(steps)})")
    if current.messages:
        last = current.messages[-1]
        parts.append(" ".join(f"{k} {_compact(v)}" for k, v in last.items() if v is not None))
    return " ".join(parts)


def train_generator(
    client: SynthClient,
    config: GeneratorConfig,
    name: str,
    log: Callable[[str], None],
    interval: float,
) -> Generator:
    """Train and return the generator (DONE), or raise dg.Failure with the engine's message.

    `config` carries the source frames (`tables[i].data`); the sdk hands them to its worker.
    """
    try:
        generator = client.train(config=config, name=name, start=False, progress_bar=False)
    except Exception as exc:
        raise _failure(name, exc) from exc
    return run_training_job(generator, name, log, interval)


def run_training_job(
    generator: Generator,
    name: str,
    log: Callable[[str], None],
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Generator:
    """Start the generator's training job and follow it until it ends."""
    handle = generator.training
    try:
        handle.start()
        last_line: str | None = None
        last_time: float | None = None
        while not generator.training_status.is_terminal:
            now = clock()
            if last_time is None or now - last_time >= interval:
                line = describe_job(handle.progress())
                if line and line != last_line:
                    log(f"[{name}] {line}")
                    last_line, last_time = line, now
            sleep(POLL_SECONDS)
        handle.wait(progress_bar=False)  # raises with the job's error if it FAILED
    except BaseException as exc:
        if not generator.training_status.is_terminal:
            # Dagster stopped the run (or polling broke): do not leave a worker training for nobody
            handle.cancel()
        if isinstance(exc, Exception):
            raise _failure(name, exc, _log_tail(handle)) from exc
        raise
    if generator.training_status != ProgressStatus.DONE:
        raise dg.Failure(description=f"Training generator {name!r} ended {generator.training_status.value}")
    generator.reload()
    return generator


def _log_tail(handle: Any, lines: int = 15) -> str | None:
    """The end of the job's log (where the engine's traceback is), or None."""
    import tempfile
    from pathlib import Path

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = handle.logs(Path(tmp) / "training.log")
            return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except Exception:
        return None


def _failure(name: str, exc: BaseException, log_tail: str | None = None) -> dg.Failure:
    message = f"{type(exc).__name__}: {exc}"
    metadata: dict[str, Any] = {"error": dg.MetadataValue.text(message)}
    if log_tail:
        metadata["log"] = dg.MetadataValue.md(f"```\n{log_tail}\n```")
    return dg.Failure(description=f"Training generator {name!r} failed: {message}", metadata=metadata)
