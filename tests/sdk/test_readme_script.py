"""The README's plain-Python quick start, saved as a script and run with `python script.py`.

Workers must never import the script (no `if __name__ == "__main__":` needed), so the snippet runs
verbatim: its store in ~/.synth_dagster (HOME is a temporary folder) and census.csv beside it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Quick start: plain Python"


def _snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION) :]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_quick_start_runs_as_a_plain_script(tmp_path: Path, census_df: pd.DataFrame) -> None:
    code = _snippet()
    assert "__main__" not in code and "census.csv" in code
    script = tmp_path / "script.py"
    script.write_text(code)
    census_df.to_csv(tmp_path / "census.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTH_DAGSTER_")}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))  # this checkout's package, not an installed one
    finished = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    lines = finished.stdout.splitlines()
    accuracy = next(float(x) for x in lines if re.fullmatch(r"0\.\d+|1\.0", x.strip()))
    assert 0.5 < accuracy <= 1.0
    reports = [Path(x.removeprefix("report: ")) for x in lines if x.startswith("report: ")]
    assert len(reports) == 1 and reports[0].suffix == ".html" and reports[0].is_file()
    store = tmp_path / ".synth_dagster"
    # the script ran once: one generator, one synthetic dataset (a worker importing it would add more)
    assert len(list((store / "generators").iterdir())) == 1
    assert len(list((store / "synthetic-datasets").iterdir())) == 1
