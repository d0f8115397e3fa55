"""Training and generating as Dagster materializations, from upstream assets through an IO manager."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from synth_helpers import FAST_MODEL, failure_text, metadata_of

from synth_dagster.integration import (
    ParquetIOManager,
    QualityChecks,
    SourceTable,
    SynthAssets,
    SyntheticData,
    SynthResource,
    build_synthetic_data_assets,
)


class Flow:
    """One trained generator shared by the tests of this module (training is the slow part)."""

    def __init__(self, tmp: Path, frame: pd.DataFrame, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.output = tmp / "output"

        @dg.asset(io_manager_key="parquet")
        def flights_raw() -> pd.DataFrame:
            return frame

        @dg.asset(io_manager_key="parquet")
        def delays(flights_synthetic: pd.DataFrame) -> pd.DataFrame:
            # a downstream asset loads the synthetic table through the IO manager
            return flights_synthetic.groupby("origin", as_index=False)["dep_delay"].mean()

        self.synth: SynthAssets = build_synthetic_data_assets(
            SyntheticData(
                name="flights",
                tables=[SourceTable("flights", asset="flights_raw")],
                model=FAST_MODEL,
                random_state=7,
                size=120,
                checks=QualityChecks(min_accuracy=0.3, max_dcr_share=0.9),
                io_manager_key="parquet",
            )
        )
        self.assets = [flights_raw, *self.synth, delays]
        self.resources = {
            "synth": SynthResource(local_dir=str(tmp / "store"), log_interval_seconds=1.0),
            "parquet": ParquetIOManager(base_path=str(self.output)),
        }

    def materialize(self, selection=None, run_config=None, raise_on_error: bool = True):
        return dg.materialize(
            self.assets,
            resources=self.resources,
            instance=self.instance,
            selection=selection,
            run_config=run_config,
            raise_on_error=raise_on_error,
        )


@pytest.fixture(scope="module")
def flow(tmp_path_factory, flights_frame) -> Iterator[tuple[Flow, dg.ExecuteInProcessResult]]:
    with dg.instance_for_test() as instance:
        flow = Flow(tmp_path_factory.mktemp("flow"), flights_frame, instance)
        yield flow, flow.materialize()


def test_generator_metadata(flow) -> None:
    _, result = flow
    meta = metadata_of(result, "flights_generator")
    assert 0.0 < meta["accuracy"] <= 1.0
    assert 0.0 < meta["accuracy_holdout_reference"] <= 1.0
    assert 0.0 <= meta["dcr_share"] <= 1.0
    assert meta["rows"] == 300 and meta["columns"] == 8
    assert meta["epochs"] > 0 and meta["training_seconds"] > 0 and meta["model_size_bytes"] > 0
    assert Path(str(meta["model_report"])).is_file()
    assert str(meta["model_report_url"]).startswith("file://")
    assert "| flights | 300 | 8 |" in str(meta["summary"])
    assert meta["synth_dagster/blocking_checks_passed"] is True


def test_checks_and_reports(flow) -> None:
    _, result = flow
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == {"accuracy", "dcr_share", "identical_matches"}
    assert all(c.passed for c in checks.values())
    assert checks["accuracy"].metadata["min_accuracy"].value == 0.3
    assert checks["accuracy"].metadata["max_accuracy_gap"].value == QualityChecks().max_accuracy_gap
    for key in ("flights_model_report", "flights_data_report"):
        path = Path(str(metadata_of(result, key)["path"]))
        assert path.is_file() and path.suffix == ".html" and path.stat().st_size > 10_000


def test_synthetic_table_through_io_manager(flow) -> None:
    f, result = flow
    meta = metadata_of(result, "flights_synthetic")
    assert meta["dagster/row_count"] == 120
    columns = [c.name for c in meta["dagster/column_schema"].columns]
    assert columns == [
        "time_hour",
        "carrier",
        "origin",
        "dest",
        "dep_delay",
        "arr_delay",
        "air_time",
        "distance",
    ]
    stored = pd.read_parquet(f.output / "flights_synthetic.parquet")
    assert len(stored) == 120 and list(stored.columns) == columns
    assert len(pd.read_parquet(f.output / "delays.parquet")) >= 1  # the downstream asset ran


def test_progress_lines_are_throttled(flow) -> None:
    f, result = flow
    messages = [e.user_message for e in f.instance.all_logs(result.run_id)]
    progress = [m for m in messages if m.startswith("[flights] ")]
    assert progress, "training progress should reach the run log"
    seconds = metadata_of(result, "flights_generator")["training_seconds"]
    assert len(progress) <= seconds / 1.0 + 3  # log_interval_seconds=1.0


def test_run_config_overrides_size_and_random_state(flow) -> None:
    f, _ = flow
    keys = f.synth.generation_keys
    op = f.synth.generation_op_name

    def generate(config: dict) -> pd.DataFrame:
        f.materialize(selection=keys, run_config={"ops": {op: {"config": config}}})
        return pd.read_parquet(f.output / "flights_synthetic.parquet")

    a = generate({"size": 40, "random_state": 11})
    b = generate({"size": 40, "random_state": 11})
    c = generate({"size": 55, "random_state": 12})
    assert len(a) == 40 and len(c) == 55
    pd.testing.assert_frame_equal(a, b)  # same seed, same data
    assert not a.head(40).equals(c.head(40))


def test_run_config_seed_records(flow) -> None:
    f, _ = flow
    seed = [{"origin": "JFK", "carrier": "AA"}] * 5 + [{"origin": "EWR", "carrier": "UA"}] * 5
    config = {"ops": {f.synth.generation_op_name: {"config": {"seed": seed}}}}
    result = f.materialize(selection=f.synth.generation_keys, run_config=config)
    frame = pd.read_parquet(f.output / "flights_synthetic.parquet")
    assert metadata_of(result, "flights_synthetic")["dagster/row_count"] == 10
    assert frame["origin"].tolist() == ["JFK"] * 5 + ["EWR"] * 5
    assert frame["carrier"].tolist() == ["AA"] * 5 + ["UA"] * 5


def test_generation_without_a_generator_says_so(tmp_path, flights_frame) -> None:
    with dg.instance_for_test() as instance:
        f = Flow(tmp_path, flights_frame, instance)
        result = f.materialize(selection=f.synth.generation_keys, raise_on_error=False)
    assert not result.success
    assert "materialize flights_generator first" in failure_text(result)


def test_two_tables_from_two_upstream_assets(tmp_path, flights_frame) -> None:
    @dg.asset
    def jfk() -> pd.DataFrame:
        return flights_frame[flights_frame.origin == "JFK"].drop(columns="origin")

    @dg.asset
    def lga() -> pd.DataFrame:
        return flights_frame[flights_frame.origin == "LGA"].drop(columns=["origin", "dest"])

    synth = build_synthetic_data_assets(
        SyntheticData(
            name="airports",
            tables=[SourceTable("jfk", asset="jfk"), SourceTable("lga", asset="lga")],
            model=FAST_MODEL,
            size={"jfk": 20, "lga": 30},
            checks=QualityChecks(min_accuracy=0.1, max_dcr_share=1.0, ims_tolerance=1.0),
            reports=False,
        )
    )
    resources = {
        "synth": SynthResource(local_dir=str(tmp_path / "store")),
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "out")),
    }
    op = synth.generation_op_name
    result = dg.materialize(
        [jfk, lga, *synth],
        resources=resources,
        run_config={"ops": {op: {"config": {"table_sizes": {"lga": 12}}}}},
    )
    meta = metadata_of(result, "airports_generator")
    assert meta["jfk/rows"] == int((flights_frame.origin == "JFK").sum())
    assert meta["lga/columns"] == 6 and "jfk/accuracy" in meta and "lga/dcr_share" in meta
    assert metadata_of(result, "airports_jfk_synthetic")["dagster/row_count"] == 20
    assert metadata_of(result, "airports_lga_synthetic")["dagster/row_count"] == 12  # run config wins
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"accuracy", "dcr_share", "identical_matches"}
    assert {"jfk/value", "lga/value"} <= set(next(c for c in checks if c.check_name == "accuracy").metadata)
