"""Generation in fixed chunks: the same rows however the chunks are shared out, unique keys across them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain import GeneratorConfig, SyntheticDatasetConfig
from synth_dagster.engine import (
    EngineInputError,
    FlatGenerator,
    FlatOptions,
    GenerationRequest,
    TrainedGenerator,
    train_generator,
)
from synth_dagster.engine.multitable.chunks import generate_chunk, iter_chunks, plan_chunks

QUICK = {"model": "MOSTLY_AI/Small", "max_epochs": 1}


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> TrainedGenerator:
    rng = np.random.default_rng(0)
    parents = pd.DataFrame({"id": np.arange(60), "v": rng.choice(["a", "b", "c"], 60)})
    children = pd.DataFrame(
        {
            "pid": rng.integers(0, 60, 150),
            "w": rng.normal(size=150).round(2),
            "cid": [f"C{i:04d}" for i in range(150)],
        }
    )
    config = GeneratorConfig.model_validate(
        {
            "name": "family",
            "random_state": 1,
            "tables": [
                {"name": "parents", "primary_key": "id", "tabular_model_configuration": QUICK},
                {
                    "name": "children",
                    "primary_key": "cid",
                    "foreign_keys": [{"column": "pid", "referenced_table": "parents", "is_context": True}],
                    "tabular_model_configuration": QUICK,
                },
            ],
        }
    )
    workspace = tmp_path_factory.mktemp("chunks") / "ws"
    train_generator(config, {"parents": parents, "children": children}, workspace)
    return TrainedGenerator(workspace)


def _config(size: int, random_state: int | None = 7) -> SyntheticDatasetConfig:
    return SyntheticDatasetConfig.model_validate(
        {
            "random_state": random_state,
            "tables": [{"name": "parents", "configuration": {"sample_size": size}}],
        }
    )


def _concat(parts: list[dict[str, pd.DataFrame]], table: str) -> pd.DataFrame:
    return pd.concat([p[table] for p in parts if table in p], ignore_index=True)


def test_chunks_give_the_same_rows_however_they_are_shared_out(family: TrainedGenerator) -> None:
    config = _config(250)
    plan = plan_chunks(family, config, chunk_rows=60)
    assert plan.n_chunks == 5 and [plan.rows("parents", i) for i in range(5)] == [50] * 5
    in_one_loop = [frames for _, frames in iter_chunks(family, config, plan)]
    # four "partitions", drawn in reverse order by a fresh generator each, as separate workers would
    by_partition: dict[int, dict[str, pd.DataFrame]] = {}
    for p in reversed(range(4)):
        worker = TrainedGenerator(family.workspace)
        by_partition.update(dict(iter_chunks(worker, config, plan, plan.partition(p, 4))))
    assert sorted(by_partition) == list(range(5))
    split = [by_partition[i] for i in range(5)]
    for table in ("parents", "children"):
        pd.testing.assert_frame_equal(_concat(in_one_loop, table), _concat(split, table))
    parents, children = _concat(split, "parents"), _concat(split, "children")
    assert len(parents) == 250 and parents["id"].tolist() == list(range(1, 251))
    assert children["cid"].is_unique and children["pid"].isin(parents["id"]).all()
    # children follow their own chunk's parents
    assert set(by_partition[3]["children"]["pid"]) <= set(by_partition[3]["parents"]["id"])


def test_one_chunk_is_the_unchunked_draw_and_seeds_differ_per_chunk(family: TrainedGenerator) -> None:
    config = _config(40)
    plan = plan_chunks(family, config, chunk_rows=100)
    assert plan.n_chunks == 1
    pd.testing.assert_frame_equal(
        generate_chunk(family, config, plan, 0)["parents"], family.generate(config)["parents"]
    )
    many = plan_chunks(family, _config(400), chunk_rows=100)
    assert len({many.seed(i) for i in range(many.n_chunks)}) == many.n_chunks
    assert [many.partition(p, 3) for p in range(3)] == [range(0, 1), range(1, 2), range(2, 4)]


def test_without_random_state_all_chunks_share_one_drawn_seed(family: TrainedGenerator) -> None:
    plan = plan_chunks(family, _config(200, random_state=None), chunk_rows=50)
    assert plan.random_state is not None and plan.n_chunks == 4
    with pytest.raises(EngineInputError, match="chunk 4 is not in 0..3"):
        generate_chunk(family, _config(200, None), plan, 4)


def test_cached_step_tables_follow_the_weights() -> None:
    """Chunks reuse a model's folded step tables; new weights (training, load_state_dict) refold them."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.choice(["x", "y", "z"], 300), "b": rng.normal(size=300).round(1)})
    one, two = (
        FlatGenerator.fit(frame, FlatOptions(model_size="small", max_epochs=e, random_state=3))
        for e in (1, 3)
    )
    request = GenerationRequest(size=300, random_state=4)
    first = one.sample(request)
    pd.testing.assert_frame_equal(one.sample(request), first)  # from the cached tables
    one.model.load_state_dict(two.model.state_dict())
    pd.testing.assert_frame_equal(one.sample(request), two.sample(request))
