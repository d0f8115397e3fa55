"""`reports(display=True)` in a plain script (no notebook): it says where the reports are, returns
None and raises nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from synth_dagster.sdk import Generator

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
import synth_dagster
from synth_dagster import SynthClient

print("package:", synth_dagster.__file__)
g = SynthClient(sys.argv[1], quiet=True).generators.get(sys.argv[2])
print("returned:", g.reports(display=True))
"""


def test_display_outside_a_notebook_prints_where_the_reports_are(
    store_root: Path, census_generator: Generator, tmp_path: Path
) -> None:
    script = tmp_path / "show.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTH_DAGSTER_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's package
    done = subprocess.run(
        [sys.executable, str(script), str(store_root), census_generator.id],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == f"package: {ROOT / 'synth_dagster' / '__init__.py'}"
    reports = [Path(x.removeprefix("report: ")) for x in lines if x.startswith("report: ")]
    assert [p.name for p in reports] == ["census-model-report.html"]
    html = reports[0].read_text(encoding="utf-8")
    assert reports[0].is_absolute() and "<title>Model report: US Census Income</title>" in html
    assert lines[-1] == "returned: None"
