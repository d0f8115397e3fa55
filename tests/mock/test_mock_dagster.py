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


def test_a_generator_trains_on_a_mock_table(tiny_model, tmp_path):
    """End to end with no real data: mock assets -> a generator trained on one -> synthetic rows."""
    from synth_dagster.integration import (
        SourceTable,
        SyntheticData,
        SynthResource,
        build_synthetic_data_assets,
    )

    tables = {
        "shops": {
            "prompt": "Shops of a city",
            "columns": {
                "shop_id": {"dtype": "integer"},
                "kind": {"dtype": "category", "values": ["bakery", "florist", "grocer"]},
                "staff": {"prompt": "number of employees", "dtype": "integer"},
                "revenue": {"prompt": "yearly revenue in EUR", "dtype": "float"},
            },
            "primary_key": "shop_id",
        }
    }
    shops = build_mock_data_assets(
        MockData(
            name="city", tables=tables, sample_size=40, model=tiny_model, random_state=3, key_prefix=("mock",)
        )
    )
    synth = build_synthetic_data_assets(
        SyntheticData(
            name="shops",
            tables=[
                SourceTable("shops", asset=dg.AssetKey(["mock", "shops"]), config={"primary_key": "shop_id"})
            ],
            model={"max_epochs": 2, "max_training_time": 0.5},
            random_state=7,
            size=25,
            checks=None,
            io_manager_key="io_manager",
        )
    )
    resources = {
        "io_manager": ParquetIOManager(base_path=str(tmp_path / "store")),
        "synth": SynthResource(local_dir=str(tmp_path / "synth")),
    }
    with dg.instance_for_test() as instance:
        result = dg.materialize([shops, *synth], resources=resources, instance=instance)
    assert result.success
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "mock/shops" in keys and "shops_generator" in keys
    synthetic = [k for k in keys if k.startswith("shops_") and k != "shops_generator"]
    assert synthetic, keys
    written = sorted((tmp_path / "store").rglob("*.parquet"))
    frames = {p.stem: pd.read_parquet(p) for p in written}
    mock_rows = pd.read_parquet(tmp_path / "store" / "mock" / "shops.parquet")
    assert len(mock_rows) == 40 and mock_rows["shop_id"].tolist() == list(range(1, 41))
    out = next(f for name, f in frames.items() if name != "shops" and "kind" in f.columns)
    assert len(out) == 25 and set(out["kind"].dropna()) <= {"bakery", "florist", "grocer"}
