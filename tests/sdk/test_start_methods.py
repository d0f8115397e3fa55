"""Workers started as `python -m synth_dagster.sdk.jobs.worker` (SYNTH_DAGSTER_START_METHOD=spawn)."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest
from sdk_helpers import FAST, wait_for_training_step

from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk import JobFailedError, SynthClient
from synth_dagster.sdk.jobs import TRAINING, Paths
from synth_dagster.sdk.jobs.launcher import START_METHOD_ENV, start_method

LONG = {"max_epochs": 10_000, "model": "MOSTLY_AI/Small", "enable_model_report": False}


def _config(frame: pd.DataFrame, model: dict) -> dict:
    return {"tables": [{"name": "diamonds", "data": frame, "tabular_model_configuration": model}]}


def test_spawned_workers_train_and_their_death_is_seen(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(START_METHOD_ENV, "spawn")
    g = fresh_client.train(config=_config(diamonds_df, FAST), progress_bar=False)
    assert g.training_status is ProgressStatus.DONE
    killed = fresh_client.train(config=_config(diamonds_df, LONG), wait=False)
    wait_for_training_step(killed)
    worker = fresh_client.store.read_json(Paths(TRAINING, killed.id).worker)
    os.kill(worker["pid"], signal.SIGKILL)
    with pytest.raises(JobFailedError, match="killed by signal SIGKILL"):
        killed.training.wait(progress_bar=False, interval=0.1)


def test_unknown_start_method_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(START_METHOD_ENV, "fork")
    with pytest.raises(ValueError, match="'forkserver' or 'spawn'"):
        start_method()
