"""The worker's stdin and the fork server's pipes carry JSON: a pickle written there never runs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from synth_dagster.sdk.jobs.messages import decode, encode

ROOT = Path(__file__).resolve().parents[2]


class _Touch:
    """Unpickling this calls os.mkdir(path): the proof that a pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_pickle_on_the_workers_stdin_is_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    finished = subprocess.run(
        [sys.executable, "-m", "synth_dagster.sdk.jobs.worker", "job-1"],
        input=pickle.dumps(_Touch(marker)),
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert finished.returncode != 0
    assert b"Decode" in finished.stderr, finished.stderr[-2000:]
    assert not marker.exists()


def test_a_spec_round_trips_as_json() -> None:
    spec = {
        "store_url": "file:///s",
        "storage_options": {"anon": True},
        "kind": "training",
        "env": {"A": "1"},
    }
    assert decode(encode(spec)) == spec
