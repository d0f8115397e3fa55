"""Jobs in worker processes: status flow, cancel, killed workers, liveness and two clients on one store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sdk_helpers import FAST, leftovers, wait_for_training_step

from synth_dagster.domain import ProgressStatus, StepCode
from synth_dagster.sdk import JobFailedError, JobStateError, SynthClient
from synth_dagster.sdk.jobs import HOST, TRAINING, Paths, now, scratch_dir, write_state

LONG = {"max_epochs": 10_000, "model": "MOSTLY_AI/Small", "enable_model_report": False}


def _config(name: str, frame: pd.DataFrame, model: dict) -> dict:
    return {
        "name": name,
        "tables": [{"name": "diamonds", "data": frame, "tabular_model_configuration": model}],
    }


def _job_files_gone(store_root: Path, gid: str, published: str | None = None) -> None:
    """Only the published artifacts remain after a job: no inputs, no worker file, nothing half-written."""
    folder = store_root / "generators" / gid
    assert not (folder / "job" / "input").exists(), "training rows must not outlive the job"
    assert not (folder / "job" / "worker.json").exists()
    for sub in ("artifacts", "qa"):
        names = {p.name for p in (folder / sub).glob("*")}
        assert names <= ({published} if published else set()), (sub, names)
    assert leftovers(folder) == []


def test_cancel_stops_training_within_seconds(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    g = fresh_client.train(config=_config("to cancel", diamonds_df, LONG), wait=False)
    wait_for_training_step(g)
    started = time.monotonic()
    g.training.cancel()
    latency = time.monotonic() - started
    print(f"cancel latency: {latency:.2f} s")
    assert latency < 10
    assert g.training_status is ProgressStatus.CANCELED
    progress = g.training.progress()
    assert progress.status is ProgressStatus.CANCELED
    assert "canceled" in g.training.logs(tmp_path / "train.log").read_text()
    _job_files_gone(tmp_path / "store", g.id)
    with pytest.raises(JobStateError, match="not DONE"):
        fresh_client.probe(g, size=1)
    # the canceled generator keeps no DataFrame rows, so it cannot simply be restarted
    with pytest.raises(JobStateError, match="no training data"):
        g.training.start()


def test_killed_worker_is_failed_with_cause_in_logs(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    g = fresh_client.train(config=_config("to kill", diamonds_df, LONG), wait=False)
    wait_for_training_step(g)
    worker = fresh_client.store.read_json(Paths(TRAINING, g.id).worker)
    os.kill(worker["pid"], signal.SIGKILL)
    with pytest.raises(JobFailedError, match="SIGKILL"):
        g.training.wait(progress_bar=False, interval=0.1)
    assert g.training_status is ProgressStatus.FAILED
    log_text = g.training.logs(tmp_path / "killed.log").read_text()
    assert "killed by signal SIGKILL" in log_text
    failed = [s for s in g.training.progress().steps or [] if s.status is ProgressStatus.FAILED]
    assert [s.step_code for s in failed] == [StepCode.TRAIN_MODEL]
    _job_files_gone(tmp_path / "store", g.id)
    assert not scratch_dir(g._state["job_id"]).exists(), "the dead worker's local scratch folder is removed"
    # a reader in another client sees the same
    other = SynthClient(tmp_path / "store", quiet=True)
    assert other.generators.get(g.id).training_status is ProgressStatus.FAILED


def _fake_running_job(client: SynthClient, frame: pd.DataFrame, worker: dict) -> str:
    g = client.generators.create(_config("fake job", frame, FAST))
    paths = Paths(TRAINING, g.id)
    state = {**g._state, "status": "IN_PROGRESS", "job_id": "job-1", "queued_at": now(), "started_at": now()}
    write_state(client.store, paths, state)
    client.store.write_json(paths.worker, {"job_id": "job-1", **worker})
    return g.id


def test_dead_worker_seen_by_another_process(fresh_client: SynthClient, diamonds_df: pd.DataFrame) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(finished.stdout)
    gid = _fake_running_job(fresh_client, diamonds_df, {"pid": pid, "host": HOST, "heartbeat_at": now()})
    g = SynthClient(fresh_client.store.url, quiet=True).generators.get(gid)
    assert g.training_status is ProgressStatus.FAILED
    assert "ended without reporting a result" in g._state["error"]
    assert not fresh_client.store.exists(Paths(TRAINING, gid).input_dir)


def test_silent_worker_on_other_host_is_failed(fresh_client: SynthClient, diamonds_df: pd.DataFrame) -> None:
    stale = "2020-01-01T00:00:00+00:00"
    gid = _fake_running_job(fresh_client, diamonds_df, {"pid": 1, "host": "elsewhere", "heartbeat_at": stale})
    g = fresh_client.generators.get(gid)
    assert g.training_status is ProgressStatus.FAILED
    assert "no heartbeat" in g._state["error"]


def test_lifecycle_and_two_clients_on_one_store(
    store_root: Path, client: SynthClient, diamonds_df: pd.DataFrame
) -> None:
    c1, c2 = client, SynthClient(store_root, quiet=True)
    g1 = c1.generators.create(_config("client one", diamonds_df, FAST))
    g2 = c2.generators.create(_config("client two", diamonds_df.iloc[:400], FAST))
    assert g1.training_status is ProgressStatus.NEW
    assert not c1.store.exists(f"{g1.directory}/artifacts")

    # both start at the same moment on the same generator: exactly one wins
    same = c2.generators.get(g1.id)
    errors: list[Exception] = []
    winners = []

    def start(generator) -> None:
        try:
            generator.training.start()
            winners.append(generator)
        except JobStateError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(x,)) for x in (g1, same)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1 and len(winners) == 1, errors
    assert re.search("just started by another client|is already (QUEUED|IN_PROGRESS)", str(errors[0]))
    assert winners[0].training_status in (
        ProgressStatus.QUEUED,
        ProgressStatus.IN_PROGRESS,
        ProgressStatus.DONE,
    )
    g2.training.start()
    with pytest.raises(JobStateError, match="already"):
        g2.training.start()

    g1.training.wait(progress_bar=False, interval=0.2)
    g2.training.wait(progress_bar=False, interval=0.2)
    assert g1.training_status is ProgressStatus.DONE
    assert g2.training_status is ProgressStatus.DONE
    assert c2.generators.get(g1.id).tables[0].total_rows == len(diamonds_df)
    assert c1.generators.get(g2.id).tables[0].total_rows == 400
    names = {g.name for g in c1.generators.list(search_term="client")}
    assert names == {"client one", "client two"}
    log_text = c1.store.read_bytes(Paths(TRAINING, g1.id).log(g1._state["job_id"])).decode()
    assert "queued" in log_text and "TRAIN_MODEL started" in log_text and "ended with status DONE" in log_text
    steps = g1.training.progress().steps or []
    assert all(s.status is ProgressStatus.DONE for s in steps)
    train_step = next(s for s in steps if s.step_code is StepCode.TRAIN_MODEL)
    assert train_step.messages and "loss" in train_step.messages[-1]
    with pytest.raises(JobStateError, match="already DONE"):
        g1.training.start()
    _job_files_gone(store_root, g1.id, published=g1._state["artifact"])
    assert leftovers(store_root) == []


def test_wait_false_returns_at_once_and_generation_job(
    client: SynthClient, census_generator, tmp_path: Path
) -> None:
    started = time.monotonic()
    sd = client.generate(census_generator, size=200, wait=False)
    assert time.monotonic() - started < 5
    assert sd.generation_status in (ProgressStatus.QUEUED, ProgressStatus.IN_PROGRESS, ProgressStatus.DONE)
    if sd.generation_status is not ProgressStatus.DONE:
        with pytest.raises(JobStateError, match="not DONE"):
            sd.data()
    sd.generation.wait(progress_bar=False, interval=0.2)
    assert sd.generation_status is ProgressStatus.DONE
    assert len(sd.data()) == 200
    logs = sd.generation.logs(tmp_path).read_text()
    assert "GENERATE_DATA started" in logs and "generated census (200 rows)" in logs


def test_failed_training_keeps_cause(fresh_client: SynthClient, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": ["x", "y", "z"] * 20})
    config = {
        "name": "bad encoding",
        "tables": [
            {
                "name": "t",
                "data": frame,
                "columns": [{"name": "a", "model_encoding_type": "TABULAR_NUMERIC_BINNED"}],
                "tabular_model_configuration": FAST,
            }
        ],
    }
    with pytest.raises(JobFailedError, match="non-numeric"):
        fresh_client.train(config=config, progress_bar=False)
    g = next(iter(fresh_client.generators.list()))
    assert g.training_status is ProgressStatus.FAILED
    assert "Traceback" in g.training.logs(tmp_path).read_text()


def test_delete_during_training_cancels_and_removes_everything(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    g = fresh_client.train(config=_config("to delete", diamonds_df, LONG), wait=False)
    wait_for_training_step(g)
    g.delete()
    folder = tmp_path / "store" / "generators" / g.id
    assert not folder.exists()
    time.sleep(1.5)  # the worker has stopped and did not write anything back
    assert not folder.exists()
    assert list(fresh_client.generators.list()) == []


def test_ctrl_c_in_the_worker_cancels_the_job(fresh_client: SynthClient, diamonds_df: pd.DataFrame) -> None:
    g = fresh_client.train(config=_config("interrupted", diamonds_df, LONG), wait=False)
    wait_for_training_step(g)
    worker = fresh_client.store.read_json(Paths(TRAINING, g.id).worker)
    os.kill(worker["pid"], signal.SIGINT)
    g.training.wait(progress_bar=False, interval=0.1)
    assert g.training_status is ProgressStatus.CANCELED
    assert (
        "interrupted (SIGINT)"
        in fresh_client.store.read_bytes(Paths(TRAINING, g.id).log(g._state["job_id"])).decode()
    )


def test_cancel_generation(client: SynthClient, census_generator) -> None:
    """The engine samples a large table in one go, without a stop hook: cancel() terminates the worker."""
    sd = client.generate(census_generator, size=1_000_000, wait=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        steps = sd.generation.progress().steps or []
        if any(
            s.step_code is StepCode.GENERATE_DATA and s.status is ProgressStatus.IN_PROGRESS for s in steps
        ):
            break
        time.sleep(0.05)
    started = time.monotonic()
    sd.generation.cancel()
    latency = time.monotonic() - started
    print(f"generation cancel latency: {latency:.2f} s")
    assert latency < 10
    assert sd.generation_status is ProgressStatus.CANCELED
    with pytest.raises(JobStateError, match="CANCELED"):
        sd.data()
    assert client.store.find(f"{sd.directory}/artifacts") == []
    assert client.store.find(f"{sd.directory}/job") == ["claim-none"]
