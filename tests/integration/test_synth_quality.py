"""Quality checks that fail, their severities, and a training that fails with the engine's message."""

from __future__ import annotations

import dagster as dg
import pandas as pd
from synth_helpers import FAST_MODEL, failure_text, metadata_of

from synth_dagster.integration import (
    ParquetIOManager,
    QualityChecks,
    SourceTable,
    SyntheticData,
    SynthResource,
    build_synthetic_data_assets,
)


def _assets(frame: pd.DataFrame, checks: QualityChecks | None):
    @dg.asset
    def orders() -> pd.DataFrame:
        return frame

    synth = build_synthetic_data_assets(
        SyntheticData(
            name="orders",
            tables=[SourceTable("orders", asset="orders")],
            model=FAST_MODEL,
            random_state=1,
            size=50,
            checks=checks,
        )
    )
    return [orders, *synth], synth


def _resources(tmp_path) -> dict:
    return {
        "synth": SynthResource(local_dir=str(tmp_path / "store")),
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "out")),
    }


def test_failing_blocking_check_fails_the_run_and_blocks_generation(tmp_path, flights_frame) -> None:
    # an accuracy of 1.0 is out of reach: the ERROR check fails and, being blocking, stops the run.
    # The DCR share of a 300-row table is measured on ~30 holdout rows (noise of about +-0.1), so its
    # threshold is set out of the way: the point here is one failing check among passing ones.
    assets, synth = _assets(flights_frame, QualityChecks(min_accuracy=1.0, max_dcr_share=1.0))
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets, resources=_resources(tmp_path), instance=instance, raise_on_error=False
        )
        assert not result.success
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert checks["accuracy"].passed is False
        assert checks["accuracy"].severity == dg.AssetCheckSeverity.ERROR
        assert "below the minimum 1.000" in checks["accuracy"].metadata["summary"].value
        assert "holdout_reference" in checks["accuracy"].metadata
        assert "interval_95" in checks["dcr_share"].metadata
        assert checks["dcr_share"].passed and checks["identical_matches"].passed
        # the run's error message gives the figures and thresholds, not only the check's name
        text = failure_text(result)
        assert "failed 1 blocking quality check(s)" in text
        assert "accuracy: accuracy 0." in text and "below the minimum 1.000" in text
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "orders_generator" in materialized and "orders_synthetic" not in materialized
        assert metadata_of(result, "orders_generator")["synth_dagster/blocking_checks_passed"] is False
        # a later generation run refuses the failed generator instead of silently using it
        later = dg.materialize(
            assets,
            resources=_resources(tmp_path),
            instance=instance,
            selection=synth.generation_keys,
            raise_on_error=False,
        )
        assert not later.success
        assert "failed blocking quality checks" in failure_text(later)


def test_warn_severity_reports_without_failing(tmp_path, flights_frame) -> None:
    checks = QualityChecks(min_accuracy=1.0, max_dcr_share=0.0, severity="WARN")
    assets, _ = _assets(flights_frame, checks)
    result = dg.materialize(assets, resources=_resources(tmp_path))
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert result.success
    assert not evaluations["accuracy"].passed and not evaluations["dcr_share"].passed
    assert {c.severity for c in evaluations.values()} == {dg.AssetCheckSeverity.WARN}
    assert metadata_of(result, "orders_synthetic")["dagster/row_count"] == 50


def test_per_check_severity_and_check_specs(flights_frame) -> None:
    checks = QualityChecks(max_dcr_share=None, severities={"identical_matches": "WARN"})
    _, synth = _assets(flights_frame, checks)
    specs = {s.name: s for s in synth.training.check_specs}
    assert set(specs) == {"accuracy", "identical_matches"}
    assert specs["accuracy"].blocking and not specs["identical_matches"].blocking
    _, unchecked = _assets(flights_frame, None)
    assert list(unchecked.training.check_specs) == []


def test_failed_training_shows_the_engine_error(tmp_path, flights_frame) -> None:
    assets, _ = _assets(flights_frame.head(0), QualityChecks())
    result = dg.materialize(assets, resources=_resources(tmp_path), raise_on_error=False)
    assert not result.success
    text = failure_text(result)
    assert "Training generator 'orders' failed" in text
    assert "is empty (0 rows)" in text  # the engine's own explanation reaches the run
