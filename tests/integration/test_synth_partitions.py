"""A synthetic table drawn in partitions: deterministic slices, disjoint keys, one part per partition,
parallel writers that never corrupt each other, a rerun that replaces exactly its part."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.dataset as pads
import pytest
from slices_helpers import CHUNK_ROWS, SIZE, SLICES, declaration, definitions, materialize_slice

from synth_dagster.integration import SynthResource
from synth_dagster.integration.partitions import slice_partitions_request, synthetic_slices_asset
from synth_dagster.sdk.slices import parse_slice_key, slice_keys


@pytest.fixture
def trained(tmp_path: Path, flights_frame: pd.DataFrame) -> tuple[Path, dg.DagsterInstance, str]:
    source = flights_frame.assign(id=range(len(flights_frame)))
    assets, resources = definitions(tmp_path, source)
    (tmp_path / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster"))
    result = dg.materialize(assets[:2], resources=resources, instance=instance)
    assert result.success
    generator_id = next(
        e.materialization.metadata["generator_id"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "flights_generator"
    )
    return tmp_path, instance, str(generator_id)


def _one_run(root: Path, generator_id: str) -> pd.DataFrame:
    """The same size and random_state drawn by one client run."""
    client = SynthResource(local_dir=str(root / "store")).get_client()
    config = declaration().synthetic_config()
    dataset = client.generate(generator_id, config=config, chunk_rows=CHUNK_ROWS, progress_bar=False)
    frame = dataset.data()
    assert isinstance(frame, pd.DataFrame)
    return frame


def test_parallel_partitions_give_the_rows_of_one_run_and_a_rerun_replaces_its_part(
    trained: tuple[Path, dg.DagsterInstance, str],
) -> None:
    root, instance, generator_id = trained
    keys = slice_keys(SLICES)
    # all four partitions at once, in their own processes (as a multiprocess or k8s backfill runs them)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=materialize_slice, args=(str(root), k)) for k in keys]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(600)
        assert worker.exitcode == 0
    folder = root / "out" / "flights_synthetic"
    assert sorted(p.name for p in folder.iterdir()) == [f"{k}.parquet" for k in keys]  # no temporary left
    parts = {k: pd.read_parquet(folder / f"{k}.parquet") for k in keys}
    assert [len(parts[k]) for k in keys] == [48, 48, 48, 96]  # 5 chunks of 48 rows; the last slice has 2
    combined = pd.concat([parts[k] for k in keys], ignore_index=True)
    assert combined["id"].is_unique and combined["id"].tolist() == list(range(1, SIZE + 1))
    assert pads.dataset(folder, format="parquet").count_rows() == SIZE  # the combined view
    pd.testing.assert_frame_equal(combined, _one_run(root, generator_id), check_dtype=False)

    before = {k: (folder / f"{k}.parquet").stat().st_mtime_ns for k in keys}
    assets, resources = definitions(root)
    rerun = dg.materialize(
        assets, resources=resources, instance=instance, partition_key=keys[1], selection=[assets[-1].key]
    )
    assert rerun.success
    after = {k: (folder / f"{k}.parquet").stat().st_mtime_ns for k in keys}
    assert [k for k in keys if after[k] != before[k]] == [keys[1]]
    pd.testing.assert_frame_equal(pd.read_parquet(folder / f"{keys[1]}.parquet"), parts[keys[1]])

    # a downstream asset reads the combined view of all partitions
    @dg.asset(deps=[], ins={"synthetic": dg.AssetIn(key=assets[-1].key)}, io_manager_key="parquet")
    def delays(synthetic: pd.DataFrame) -> None:
        assert len(synthetic) == SIZE and synthetic["id"].is_unique

    assert dg.materialize(
        [*assets, delays], resources=resources, instance=instance, selection=[delays.key]
    ).success


def test_dynamic_partitions_and_slice_keys(trained: tuple[Path, dg.DagsterInstance, str]) -> None:
    root, instance, _ = trained
    dynamic = dg.DynamicPartitionsDefinition(name="flights_slices")
    request = slice_partitions_request(dynamic, 2)
    assert list(request.partition_keys) == ["0-of-2", "1-of-2"]
    instance.add_dynamic_partitions("flights_slices", list(request.partition_keys))
    asset = synthetic_slices_asset(
        declaration(), dynamic, chunk_rows=CHUNK_ROWS, key=dg.AssetKey("flights_dynamic")
    )
    assets, resources = definitions(root)
    for key in request.partition_keys:
        assert dg.materialize(
            [*assets[:2], asset],
            resources=resources,
            instance=instance,
            partition_key=key,
            selection=[asset.key],
        ).success
    halves = [
        pd.read_parquet(root / "out" / "flights_dynamic" / f"{k}.parquet") for k in request.partition_keys
    ]
    assert [len(h) for h in halves] == [96, 144] and not set(halves[0]["id"]) & set(halves[1]["id"])
    assert parse_slice_key("3-of-8") == (3, 8)
    with pytest.raises(Exception, match="does not name a slice"):
        parse_slice_key("2024-01-01")
