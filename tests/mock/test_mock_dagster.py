"""The mock asset factory: one multi-asset with an output per table, materialized with the local tiny model."""

from __future__ import annotations

import dagster as dg
import pandas as pd
from mock_helpers import assert_integrity

from synth_dagster.integration import MockData, ParquetIOManager, build_mock_data_assets


def test_materialize_mock_assets(tiny_model, reference_tables, tmp_path):
    declaration = MockData(
        name="shop",
        tables=reference_tables,
        sample_size=1,
        model=tiny_model,
        random_state=0,
        key_prefix=("mock",),
        group_name="mock",
    )
    assets = build_mock_data_assets(declaration)
    assert {k.to_user_string() for k in assets.keys} == {f"mock/{t}" for t in reference_tables}
    assert dg.AssetKey(["mock", "customers"]) in assets.asset_deps[dg.AssetKey(["mock", "orders"])]

    @dg.asset(ins={"orders": dg.AssetIn(key=["mock", "orders"])})
    def order_count(orders: pd.DataFrame) -> pd.DataFrame:  # a downstream asset reads a mock table
        return pd.DataFrame({"orders": [len(orders)]})

    io = ParquetIOManager(base_path=str(tmp_path / "store"))
    result = dg.materialize([assets, order_count], resources={"io_manager": io})
    assert result.success
    frames = {t: pd.read_parquet(tmp_path / "store" / "mock" / f"{t}.parquet") for t in reference_tables}
    assert_integrity(frames, reference_tables)
    assert result.output_for_node("order_count")["orders"].iloc[0] == len(frames["orders"])
    mats = {m.asset_key.path[-1]: m for m in result.get_asset_materialization_events()}
    meta = mats["items"].materialization.metadata
    assert meta["dagster/row_count"].value == len(frames["items"])
    assert meta["model"].value == tiny_model and meta["valid_on_first_try"].value <= 1.0
