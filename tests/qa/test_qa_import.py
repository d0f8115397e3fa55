"""synth_dagster.qa must stay importable without the heavy parts of the stack."""

import subprocess
import sys


def test_qa_imports_without_torch_or_dagster() -> None:
    code = (
        "import sys, synth_dagster.qa, synth_dagster.qa.report\n"
        "heavy = sorted(m for m in ('torch', 'dagster') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing synth_dagster.qa pulled in: {out.stdout.strip()}"
