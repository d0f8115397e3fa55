"""The demo's last line is a command that shows the same run in the Dagster UI: its DAGSTER_HOME
holds the run, its `dagster` is this environment's, its workspace loads the demo's code location."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_demo_prints_a_ui_command_whose_instance_holds_its_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTH_DAGSTER_", "DAGSTER_"))}
    env.update(SYNTH_DAGSTER_DEMO_FAST="1", PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    base = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "synth_dagster.demo", "--dir", str(base)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    run_id = next(x for x in lines if x.startswith("Succeeded in ")).split("(run ")[1].rstrip(")")

    setting, dagster, *rest = shlex.split(lines[-1])
    assert setting.startswith("DAGSTER_HOME=") and rest[:2] == ["dev", "-w"] and len(rest) == 3
    home, workspace = Path(setting.removeprefix("DAGSTER_HOME=")), Path(rest[2])
    assert home.is_absolute() and workspace.is_absolute() and Path(dagster).is_absolute()
    assert home == base / "dagster_home" and workspace == base / "workspace.yaml"
    assert Path(dagster) == Path(sys.executable).parent / "dagster" and os.access(dagster, os.X_OK)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS

    # the UI's code location loads from that workspace, on the same instance
    validated = subprocess.run(
        [dagster, "definitions", "validate", "-w", str(workspace)],
        cwd=tmp_path,
        env=env | {"DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-2000:]
    assert "synth_dagster_demo" in validated.stdout + validated.stderr
