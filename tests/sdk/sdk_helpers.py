"""Helpers for the sdk tests (imported by module name, like the other test folders' helpers)."""

from __future__ import annotations

import time
from pathlib import Path

from synth_dagster.domain import ProgressStatus, StepCode
from synth_dagster.sdk import Generator

# the fastest useful training: two epochs of the small model, no HTML report
FAST = {"max_epochs": 2, "model": "MOSTLY_AI/Small", "enable_model_report": False}


def wait_for_training_step(generator: Generator, timeout: float = 120.0) -> None:
    """Block until the job is in its TRAIN_MODEL step (at least one epoch done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = generator.training.progress()
        for step in progress.steps or []:
            if step.step_code is StepCode.TRAIN_MODEL and step.status is ProgressStatus.IN_PROGRESS:
                return
        assert progress.status not in (ProgressStatus.FAILED, ProgressStatus.DONE), progress
        time.sleep(0.1)
    raise AssertionError("training did not reach TRAIN_MODEL in time")


def leftovers(root: Path) -> list[str]:
    """Half-written files or folders anywhere in a local store."""
    marks = (".tmp-", ".staging-", ".old-", ".partial-")
    return [str(p) for p in root.rglob("*") if any(m in p.name for m in marks)]
