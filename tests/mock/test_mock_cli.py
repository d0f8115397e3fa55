"""`synth-dagster mock spec.yaml --out folder/` in a subprocess, with the tiny local model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from mock_helpers import assert_integrity

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "synth_dagster.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def test_cli_mock_writes_one_file_per_table(tiny_model, reference_tables, tmp_path):
    spec = tmp_path / "shop.yaml"
    spec.write_text(yaml.safe_dump({"sample_size": 1, "model": tiny_model, "tables": reference_tables}))
    done = _run(
        "--quiet", "mock", str(spec), "--out", str(tmp_path / "out"), "--format", "csv", "--random-state", "1"
    )
    assert done.returncode == 0, done.stderr
    frames = {t: pd.read_csv(tmp_path / "out" / f"{t}.csv", dtype=str) for t in reference_tables}
    assert len(frames["customers"]) == 1
    assert_integrity(frames, reference_tables)
    assert "mock data written to" in done.stdout


def test_cli_mock_reports_bad_spec_and_missing_key(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"t": {"columns": {"x": {"dtype": "category"}}}}))
    done = _run("mock", str(bad), "--out", str(tmp_path / "o"))
    assert done.returncode == 1 and "needs its list of values" in done.stderr
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"t": {"columns": {"x": {"dtype": "string"}}}}))
    done = _run("mock", str(good), "--out", str(tmp_path / "o"), "--model", "openai/gpt-5-nano")
    assert done.returncode == 1 and "OPENAI_API_KEY" in done.stderr
    assert not (tmp_path / "o").exists()
