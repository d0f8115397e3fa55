"""Generation jobs stream their rows in chunks: Parquet parts in the store, the same rows as one draw."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest
from sdk_helpers import FAST

from synth_dagster.engine import TrainedGenerator
from synth_dagster.engine.multitable.chunks import iter_chunks, plan_chunks
from synth_dagster.sdk import Generator, SynthClient
from synth_dagster.sdk.slices import generate_slice


@pytest.fixture(scope="module")
def small_generator(
    tmp_path_factory: pytest.TempPathFactory, diamonds_df: pd.DataFrame
) -> tuple[SynthClient, Generator]:
    client = SynthClient(tmp_path_factory.mktemp("streaming") / "store", quiet=True)
    frame = diamonds_df.head(400).reset_index(drop=True).assign(id=range(400))
    generator = client.train(
        config={
            "name": "diamonds",
            "tables": [
                {"name": "diamonds", "data": frame, "primary_key": "id", "tabular_model_configuration": FAST}
            ],
        },
        progress_bar=False,
    )
    return client, generator


def test_a_large_dataset_is_written_as_parts_with_unique_keys(
    small_generator: tuple[SynthClient, Generator],
) -> None:
    client, generator = small_generator
    dataset = client.generate(
        generator, size=500, config={"random_state": 5}, chunk_rows=120, progress_bar=False
    )
    path = Path(dataset.data_path())
    assert sorted(p.name for p in path.iterdir()) == [f"part-{i:05d}.parquet" for i in range(5)]
    parts = list(dataset.iter_data())
    assert [len(p) for p in parts] == [100] * 5
    whole = dataset.data()
    assert (
        isinstance(whole, pd.DataFrame) and len(whole) == 500 and whole["id"].tolist() == list(range(1, 501))
    )
    assert pads.dataset(path, format="parquet").count_rows() == 500  # one Parquet dataset
    assert dataset.tables[0].total_rows == 500
    # the same rows as drawing every chunk in one loop, in memory
    trained = client._trained(generator)
    config = dataset.config()
    plan = plan_chunks(trained, config, chunk_rows=120)
    in_memory = pd.concat([f["diamonds"] for _, f in iter_chunks(trained, config, plan)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, in_memory)
    again = client.generate(
        generator, size=500, config={"random_state": 5}, chunk_rows=120, progress_bar=False
    )
    pd.testing.assert_frame_equal(again.data(), whole)


def test_a_small_dataset_keeps_one_file(small_generator: tuple[SynthClient, Generator]) -> None:
    client, generator = small_generator
    dataset = client.generate(generator, size=50, config={"random_state": 5}, progress_bar=False)
    assert dataset.data_path().endswith(".parquet")
    assert [len(p) for p in dataset.iter_data()] == [50]
    trained = TrainedGenerator(client._trained(generator).workspace)
    pd.testing.assert_frame_equal(dataset.data(), trained.generate(dataset.config())["diamonds"])


def test_slices_share_the_chunks_and_an_empty_slice_keeps_the_columns(
    small_generator: tuple[SynthClient, Generator],
) -> None:
    client, generator = small_generator
    config = {"random_state": 5, "tables": [{"name": "diamonds", "configuration": {"sample_size": 100}}]}
    slices = [list(generate_slice(client, generator.id, config, i, 4, chunk_rows=50)) for i in range(4)]
    assert [len(s) for s in slices] == [1, 1, 1, 1]
    empty = slices[0][0]["diamonds"]
    assert len(empty) == 0 and list(empty.columns) == list(slices[1][0]["diamonds"].columns)
    ids = pd.concat([s[0]["diamonds"] for s in slices], ignore_index=True)["id"]
    assert ids.tolist() == list(range(1, 101))
