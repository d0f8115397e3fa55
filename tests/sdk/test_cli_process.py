"""`synth-dagster` run as a process (`python -m synth_dagster.cli`, this checkout's package): what a
user sees in a terminal and a shell pipe. One generator is trained once, through the CLI, on an
80-column terminal (rich renders as on a TTY: TTY_COMPATIBLE / TTY_INTERACTIVE)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from synth_dagster.sdk import SynthClient

ROOT = Path(__file__).resolve().parents[2]
NAME = "diamonds-cli"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BAR = re.compile(r"[━╸╺]+")
STRICT_DCR_SHARE = 0.05
TERMINAL_80 = {"COLUMNS": "80", "LINES": "40", "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "synth_dagster.cli", *args],
        cwd=ROOT,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTH_DAGSTER_", "TTY_", "FORCE_COLOR"))}
    env.pop("COLUMNS", None)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's package, not the one installed in the venv
    return env | (extra or {})


@dataclass
class Trained:
    store: Path
    generator_id: str
    stdout: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, diamonds_df: pd.DataFrame) -> Trained:
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "diamonds.csv"
    diamonds_df.iloc[:300].to_csv(data, index=False)
    store = folder / "store"
    args = [
        "--local-dir",
        str(store),
        "train",
        str(data),
        "--name",
        NAME,
        "--model",
        "small",
        "--max-epochs",
        "2",
        "--max-dcr-share",  # a maximum no real table meets: a FAILED check
        str(STRICT_DCR_SHARE),
    ]
    done = cli(*args, env=TERMINAL_80)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if f"({NAME}): DONE" in x)
    return Trained(store, line.split()[1], done.stdout)


def _final_frame(stdout: str) -> list[str]:
    """The last refresh of the live progress display (after its last line erase, before the cursor
    comes back), without colours."""
    start = stdout.rindex("\x1b[2K")
    return ANSI.sub("", stdout[start : stdout.index("\x1b[?25h", start)]).splitlines()


def test_checks_print_their_figures_and_thresholds(trained: Trained) -> None:
    checks = [x.strip() for x in trained.stdout.splitlines() if x.strip().startswith("check ")]
    assert len(checks) == 2, trained.stdout[-2000:]
    accuracy, dcr = checks
    # the default maximum gap, with the measured accuracy, its holdout reference and the gap
    assert re.fullmatch(
        r"check accuracy: (passed|FAILED) \(accuracy 0\.\d{3}, holdout reference 0\.\d{3}: gap -?\d+\.\d points, "
        r"95% interval \[-?\d+\.\d, -?\d+\.\d\] (straddles|lies within|lies beyond) the allowed 10\.0 points\)",
        accuracy,
    ), accuracy
    # the failed one: its share, its interval and the maximum it exceeds
    assert re.fullmatch(
        r"check dcr_share: FAILED \(DCR share 0\.\d{3}, 95% interval \[0\.\d{3}, 0\.\d{3}\] lies above "
        r"the maximum 0\.050\)",
        dcr,
    ), dcr


def test_check_thresholds_out_of_range_are_refused(tmp_path: Path) -> None:
    done = cli("--local-dir", str(tmp_path), "train", "missing.csv", "--max-accuracy-gap", "10")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "synth-dagster train: --max-accuracy-gap must be a fraction between 0 and 1 (0.10 allows 10 points), got 10"
    )


def test_progress_bars_fit_an_80_column_terminal(trained: Trained) -> None:
    frame = _final_frame(trained.stdout)
    assert frame[0].startswith(f"Training {NAME}") and len(frame) >= 5, frame
    for line in frame:
        assert len(line) <= 80, line
        bars = BAR.findall(line)
        assert len(bars) == 1 and len(bars[0]) >= 20, line  # the bar, not squeezed to a few characters
        assert re.search(r" \d+:\d\d:\d\d$", line), line  # the elapsed time in full, not "0:00…"


def test_progress_columns_at_80_columns_in_a_rich_console() -> None:
    from rich.console import Console

    from synth_dagster.sdk.progress import progress_bars

    out = io.StringIO()
    console = Console(width=80, force_terminal=True, file=out)
    with progress_bars("note", percent=True, console=console) as bar:
        bar.add_task("Training a generator with a rather long name indeed", total=1, note="TRAINING")
        step = bar.add_task(
            "  data:tabular GENERATE_MODEL_REPORT_DATA", total=10, note="loss 29.925 val 30.546"
        )
        bar.update(step, completed=3)
    lines = _final_frame(out.getvalue())
    assert lines[0].startswith("Training a generator") and "…" in lines[0]  # cut, with an ellipsis
    assert "loss 29.925 val 30.546" in lines[1]
    for line in lines:
        assert len(line) <= 80 and len(BAR.findall(line)[0]) == 20 and re.search(r" 0:00:0\d$", line), line


def test_list_prints_a_header_aligned_with_its_rows(trained: Trained) -> None:
    done = cli("--local-dir", str(trained.store), "list")
    assert done.returncode == 0, done.stderr
    header, row, *rest = done.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "ACCURACY", "CREATED", "NAME"] and not rest
    assert row.startswith(trained.generator_id)
    assert row.index("DONE") == header.index("STATUS")
    assert row.index(NAME) == header.index("NAME")
    accuracy = re.search(r"0\.\d{3}", row)
    assert accuracy is not None and accuracy.end() == header.index("ACCURACY") + len(
        "ACCURACY"
    )  # right-aligned
    created = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    assert created is not None and created.start() == header.index("CREATED")


def test_global_options_after_the_command(trained: Trained, tmp_path: Path) -> None:
    target = tmp_path / "s.csv"
    args = ["generate", NAME, "--size", "5", "--out", str(target), "--no-report"]
    done = cli(*args, "--local-dir", str(trained.store), "--quiet", env=TERMINAL_80)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(target)) == 5  # --local-dir after the command found the generator
    assert not BAR.search(done.stdout) and "\x1b[" not in done.stdout  # --quiet after it: no bars
    assert done.stdout.strip().endswith(f"5 rows written to {target}")
    # before the command as always, and an option after it wins over the same one before it
    listing = cli("--local-dir", str(tmp_path / "elsewhere"), "list", "--local-dir", str(trained.store))
    assert listing.returncode == 0 and trained.generator_id in listing.stdout


def test_report_out_is_a_folder_unless_it_names_a_zip(trained: Trained, tmp_path: Path) -> None:
    help_text = cli("report", "--help").stdout
    assert "ending in .zip" in help_text and "a path ending in /" in help_text
    zip_name = f"generator-{trained.generator_id[:8]}-reports.zip"
    cases = {
        f"{tmp_path / 'reports'}{os.sep}": tmp_path / "reports" / zip_name,  # trailing separator, missing
        str(tmp_path / "plain"): tmp_path / "plain" / zip_name,  # no .zip suffix: a folder
        str(tmp_path / "nested" / "deeper"): tmp_path / "nested" / "deeper" / zip_name,
        str(tmp_path / "named.zip"): tmp_path / "named.zip",  # a ZIP file
    }
    for out, expected in cases.items():
        done = cli("--local-dir", str(trained.store), "report", NAME, "--out", out)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().endswith(f"saved to {expected}"), done.stdout
        assert zipfile.is_zipfile(expected), out
    assert (tmp_path / "reports").is_dir() and (tmp_path / "plain").is_dir()
    existing = tmp_path / "plain"  # an existing folder, without a separator, gets a second ZIP beside
    assert cli("--local-dir", str(trained.store), "report", NAME, "--out", str(existing)).returncode == 0
    (tmp_path / "notes").write_text("x")
    refused = cli("--local-dir", str(trained.store), "report", NAME, "--out", str(tmp_path / "notes"))
    assert refused.returncode == 1 and "existing file without the .zip suffix" in refused.stderr


def test_report_titles_name_the_generator(trained: Trained, tmp_path: Path) -> None:
    done = cli("--local-dir", str(trained.store), "report", NAME, "--out", str(tmp_path / "r.zip"))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "r.zip") as archive:
        html = archive.read("data-model-report.html").decode()
    assert f"<title>Model report: {NAME}</title>" in html and f"<h1>Model report: {NAME}</h1>" in html
    assert "Model report: data" not in html


def test_list_into_a_pipe_closed_early_exits_quietly(tmp_path: Path) -> None:
    client = SynthClient(tmp_path / "store", quiet=True)
    frame = pd.DataFrame({"a": [1, 2, 3]})
    for i in range(400):  # ~130 kB of listing: more than a pipe holds, so writes go on after the close
        client.generators.create({"name": f"g{i:03d}-" + "x" * 250, "tables": [{"name": "t", "data": frame}]})
    process = subprocess.Popen(
        [sys.executable, "-m", "synth_dagster.cli", "--local-dir", str(tmp_path / "store"), "list"],
        cwd=ROOT,
        env=_env(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()  # like `synth-dagster list | head -1`
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=600) == 141, stderr
    assert first.split() == ["ID", "STATUS", "ACCURACY", "CREATED", "NAME"]
    assert stderr == ""  # no traceback, no "Broken pipe" message
