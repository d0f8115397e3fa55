"""The `synth-dagster` command line: train, generate, list, report and their --help."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from synth_dagster.cli import main


@pytest.mark.parametrize("command", [[], ["train"], ["generate"], ["list"], ["report"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: synth-dagster")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "synth-dagster"
    if not script.exists():
        pytest.skip("the console script is not installed next to this Python")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "train" in result.stdout


def test_train_generate_list_report(
    tmp_path: Path, diamonds_df: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    data = tmp_path / "data.csv"
    diamonds_df.iloc[:300].to_csv(data, index=False)
    base = ["--local-dir", store, "--quiet"]

    assert main([*base, "train", str(data), "--name", "X", "--model", "small", "--max-epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "(X): DONE" in out
    gid = out.split()[1]

    assert main([*base, "list"]) == 0
    listing = capsys.readouterr().out
    assert gid in listing and "DONE" in listing and " X" in listing

    target = tmp_path / "synthetic.parquet"
    assert main([*base, "generate", "X", "--size", "25", "--out", str(target), "--no-report"]) == 0
    assert "25 rows written" in capsys.readouterr().out
    frame = pd.read_parquet(target)
    assert frame.shape == (25, diamonds_df.shape[1])
    assert main([*base, "generate", gid[:8], "--size", "5", "--out", str(tmp_path / "s.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "s.csv")) == 5
    capsys.readouterr()

    assert main([*base, "list", "synthetic-datasets", "--status", "DONE"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1 + 2  # the header, two datasets

    assert main([*base, "report", "X", "--out", str(tmp_path)]) == 0
    report = Path(capsys.readouterr().out.strip().split(" saved to ")[1])
    with zipfile.ZipFile(report) as archive:
        assert archive.namelist() == ["data-model-report.html"]

    # errors: a message on stderr and exit code 1, no traceback
    assert main([*base, "generate", "nope", "--size", "5", "--out", str(tmp_path / "x.parquet")]) == 1
    assert "no generator with id, id prefix or name 'nope'" in capsys.readouterr().err
    assert main([*base, "generate", "X", "--out", str(tmp_path / "x.xlsx")]) == 1
    assert "--out must end in" in capsys.readouterr().err
    assert main([*base, "train", str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
