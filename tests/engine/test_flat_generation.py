"""Trained-model behaviour on real data: seeds, rebalancing, imputation, fairness, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.engine import EngineInputError, FlatGenerator, FlatOptions, GenerationRequest

FAST = {"max_epochs": 8, "model_size": "small"}


def test_output_has_source_columns_and_dtypes(diamonds_with_nulls, diamonds_generator):
    out = diamonds_generator.sample(GenerationRequest(size=500, random_state=0))
    assert list(out.columns) == list(diamonds_with_nulls.columns)
    assert len(out) == 500
    for column in out.columns:
        assert out[column].dtype == diamonds_with_nulls[column].dtype, column
    # nulls are learned at about their rate
    assert 0.1 < out["depth"].isna().mean() < 0.3


def test_default_size_is_the_training_size(diamonds_with_nulls, diamonds_generator):
    assert len(diamonds_generator.sample(GenerationRequest(random_state=0))) == len(diamonds_with_nulls)


def test_seeded_values_come_back_unchanged_and_condition_the_rest(diamonds_generator):
    seed = pd.DataFrame({"cut": ["Ideal"] * 300 + ["Fair"] * 300, "carat": [0.3] * 300 + [2.0] * 300})
    out = diamonds_generator.sample(GenerationRequest(seed=seed, random_state=0))
    assert len(out) == 600
    pd.testing.assert_series_equal(out["cut"], seed["cut"], check_dtype=False)
    assert (out["carat"] == seed["carat"]).all()
    # conditioning works: big stones are priced far higher than small ones
    assert out["price"][300:].median() > 3 * out["price"][:300].median()


def test_rebalancing_meets_target_shares(diamonds_generator):
    request = GenerationRequest(
        size=10_000,
        rebalancing={"column": "cut", "probabilities": {"Fair": 0.3, "Good": 0.2}},
        random_state=0,
    )
    shares = diamonds_generator.sample(request)["cut"].value_counts(normalize=True)
    assert abs(shares["Fair"] - 0.3) <= 0.03
    assert abs(shares["Good"] - 0.2) <= 0.03


def test_imputation_leaves_no_nulls_and_fills_seeded_nulls(diamonds_generator):
    out = diamonds_generator.sample(
        GenerationRequest(size=2000, imputation=["depth", "clarity"], random_state=0)
    )
    assert out["depth"].notna().all() and out["clarity"].notna().all()
    seed = pd.DataFrame({"cut": ["Ideal", "Good", "Premium"], "depth": [61.5, np.nan, np.nan]})
    filled = diamonds_generator.sample(GenerationRequest(seed=seed, imputation=["depth"], random_state=0))
    assert filled["depth"].notna().all()
    assert filled["depth"][0] == 61.5
    assert list(filled["cut"]) == ["Ideal", "Good", "Premium"]


def test_fairness_makes_target_independent_of_sensitive_columns(diamonds_generator):
    out = diamonds_generator.sample(
        GenerationRequest(
            size=10_000, fairness={"target_column": "cut", "sensitive_columns": ["color"]}, random_state=0
        )
    )
    overall = out["cut"].value_counts(normalize=True)
    by_group = pd.crosstab(out["color"], out["cut"], normalize="index")
    assert (by_group.sub(overall, axis=1).abs() <= 0.03).all().all()


def test_same_random_state_gives_identical_frames(diamonds):
    small = diamonds.head(1500)
    a = FlatGenerator.fit(small, FlatOptions(random_state=5, max_epochs=3, model_size="small"))
    b = FlatGenerator.fit(small, FlatOptions(random_state=5, max_epochs=3, model_size="small"))
    pd.testing.assert_frame_equal(
        a.sample(GenerationRequest(size=800, random_state=9)),
        b.sample(GenerationRequest(size=800, random_state=9)),
    )
    assert not a.sample(GenerationRequest(size=800, random_state=9)).equals(
        a.sample(GenerationRequest(size=800, random_state=10))
    )


def test_save_and_load_give_identical_output(tmp_path, diamonds_generator):
    diamonds_generator.save(tmp_path / "g")
    loaded = FlatGenerator.load(tmp_path / "g")
    request = GenerationRequest(size=300, random_state=4)
    pd.testing.assert_frame_equal(diamonds_generator.sample(request), loaded.sample(request))


def test_sampling_temperature_and_top_p(diamonds_generator):
    greedy = diamonds_generator.sample(GenerationRequest(size=500, sampling_top_p=0.05, random_state=0))
    normal = diamonds_generator.sample(GenerationRequest(size=500, random_state=0))
    assert (
        greedy["cut"].nunique() < normal["cut"].nunique()
        or greedy["color"].nunique() < normal["color"].nunique()
    )
    hot = diamonds_generator.sample(GenerationRequest(size=500, sampling_temperature=3.0, random_state=0))
    assert (
        hot["clarity"].value_counts(normalize=True).max()
        < normal["clarity"].value_counts(normalize=True).max()
    )


def test_fixed_order_generator_generates(diamonds):
    g = FlatGenerator.fit(
        diamonds.head(1000),
        FlatOptions(random_state=1, enable_flexible_generation=False, max_epochs=2, model_size="small"),
    )
    assert len(g.sample(GenerationRequest(size=100, random_state=0))) == 100
    with pytest.raises(EngineInputError, match="enable_flexible_generation"):
        g.sample(GenerationRequest(seed=pd.DataFrame({"price": [500]}), random_state=0))


# ------------------------------------------------------------------ errors
def test_empty_table_is_refused():
    with pytest.raises(EngineInputError, match="empty"):
        FlatGenerator.fit(pd.DataFrame({"a": pd.Series([], dtype="int64")}), FlatOptions(**FAST))


def test_all_null_column_is_refused():
    frame = pd.DataFrame({"a": range(50), "b": [None] * 50})
    with pytest.raises(EngineInputError, match="'b' holds only null values"):
        FlatGenerator.fit(frame, FlatOptions(**FAST))


def test_unknown_columns_in_config_are_refused(diamonds):
    with pytest.raises(EngineInputError, match="does not have"):
        FlatGenerator.fit(
            diamonds.head(100), FlatOptions(encoding_types={"nope": "TABULAR_CATEGORICAL"}, **FAST)
        )
    with pytest.raises(EngineInputError, match="nope"):
        FlatGenerator.fit(
            diamonds.head(100),
            FlatOptions(
                constraints=[{"type": "FixedCombinations", "config": {"columns": ["cut", "nope"]}}], **FAST
            ),
        )


def test_seed_column_the_generator_lacks_is_refused(diamonds_generator):
    with pytest.raises(EngineInputError, match="seed columns \\['weight'\\]"):
        diamonds_generator.sample(GenerationRequest(seed=pd.DataFrame({"weight": [1.0]})))


@pytest.mark.parametrize("size", [0, -3, 2.5])
def test_non_positive_size_is_refused(diamonds_generator, size):
    with pytest.raises(EngineInputError, match="size must be a positive integer"):
        diamonds_generator.sample(GenerationRequest(size=size))


def test_rebalancing_a_numeric_column_is_refused(diamonds_generator):
    with pytest.raises(EngineInputError, match="categorical"):
        diamonds_generator.sample(
            GenerationRequest(size=10, rebalancing={"column": "price", "probabilities": {"1": 0.5}})
        )
