"""Definitions of a synthetic table drawn in slices, rebuilt the same way by the test and by the
processes it starts (imported by module name, like synth_helpers)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from synth_dagster.integration import (
    ParquetIOManager,
    QualityChecks,
    SourceTable,
    SyntheticData,
    SynthResource,
    build_synthetic_data_assets,
)
from synth_dagster.integration.partitions import synthetic_slices_asset

SIZE, RANDOM_STATE, CHUNK_ROWS, SLICES = 240, 7, 50, 4


def declaration() -> SyntheticData:
    return SyntheticData(
        name="flights",
        tables=[SourceTable("flights", asset="flights_raw", config={"primary_key": "id"})],
        model={"max_epochs": 1, "max_training_time": 0.5},
        random_state=RANDOM_STATE,
        size=SIZE,
        checks=QualityChecks(min_accuracy=None, max_dcr_share=None),
        io_manager_key="parquet",
        reports=False,
    )


def definitions(root: Path, source: pd.DataFrame | None = None) -> tuple[list[dg.AssetsDefinition], dict]:
    @dg.asset(name="flights_raw", io_manager_key="parquet")
    def flights_raw() -> pd.DataFrame:
        assert source is not None, "only the training run reads the source"
        return source

    synth = build_synthetic_data_assets(declaration())
    slices = synthetic_slices_asset(declaration(), SLICES, chunk_rows=CHUNK_ROWS)
    resources = {
        "synth": SynthResource(local_dir=str(root / "store")),
        "parquet": ParquetIOManager(base_path=str(root / "out")),
    }
    return [flights_raw, synth.training, slices], resources


def materialize_slice(root: str, key: str) -> None:
    """One partition's run, as a separate worker process would do it."""
    assets, resources = definitions(Path(root))
    instance = dg.DagsterInstance.local_temp(str(Path(root) / "dagster"))
    result = dg.materialize(
        assets, resources=resources, instance=instance, partition_key=key, selection=[assets[-1].key]
    )
    assert result.success
