"""Training knobs, progress events, value protection and the encoding round trips not covered elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from synth_dagster.engine import EngineProgress, FlatGenerator, FlatOptions, GenerationRequest, training
from synth_dagster.engine.analysis import plan_column, restore, to_model_space
from synth_dagster.engine.encoding import encoder_for
from synth_dagster.engine.encoding.base import RARE_THRESHOLD
from synth_dagster.engine.flat import VALIDATION_SHARE, encode_frame
from synth_dagster.engine.training import validation_loss

FAST = {"max_epochs": 1, "model_size": "small", "random_state": 0}
RNG = np.random.default_rng(5)


def small_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(
        {
            "color": color,
            "size": np.where(color == "red", rng.normal(10, 1, n), rng.normal(20, 2, n)).round(1),
            "count": rng.integers(0, 8, n),
        }
    )


def n_train(n_rows: int) -> int:
    return n_rows - int(n_rows * VALIDATION_SHARE)


def fit(frame: pd.DataFrame, events: list[EngineProgress] | None = None, **options) -> FlatGenerator:
    callback = events.append if events is not None else (lambda _: None)
    return FlatGenerator.fit(frame, FlatOptions(**{**FAST, **options}), on_progress=callback)


# ------------------------------------------------------------------------------------ training knobs
def test_max_sample_size_trains_on_a_subsample():
    frame = small_frame(1000)
    generator = fit(frame, max_sample_size=200, batch_size=20)
    assert generator.n_training_rows == 200
    assert generator.report.steps == math.ceil(n_train(200) / 20)
    assert set(generator.holdout_index) <= set(frame.index)
    assert len(generator.holdout_index) == 200 - n_train(200)
    # the default output size is the size actually trained on
    assert len(generator.sample(GenerationRequest(random_state=0))) == 200


@pytest.mark.parametrize("batch_size", [16, 64])
def test_batch_size_sets_the_steps_per_epoch(batch_size: int):
    events: list[EngineProgress] = []
    generator = fit(small_frame(330), events, batch_size=batch_size)
    expected = math.ceil(n_train(330) / batch_size)
    assert generator.report.steps == expected
    train_events = [e for e in events if e.step == "TRAIN_MODEL"]
    assert train_events[-1].total == expected and train_events[-1].completed == expected


@pytest.mark.parametrize("accumulate", [1, 4])
def test_gradient_accumulation_steps_the_optimizer_every_k_batches(accumulate: int):
    optimizer_steps = []
    # the training optimizer's steps only (the calibration after training runs an L-BFGS)
    handle = register_optimizer_step_post_hook(
        lambda opt, *_: optimizer_steps.append(1) if isinstance(opt, torch.optim.AdamW) else None
    )
    try:
        generator = fit(small_frame(330), batch_size=33, gradient_accumulation_steps=accumulate)
    finally:
        handle.remove()
    batches = math.ceil(n_train(330) / 33)
    assert generator.report.steps == batches
    # a step every k batches, plus one for the remainder at the end of the epoch
    assert len(optimizer_steps) == math.ceil(batches / accumulate)


def test_max_training_time_stops_training():
    generator = fit(small_frame(400), batch_size=16, max_epochs=50, max_training_time=1e-6)
    report = generator.report
    assert report.stop_reason == "max_training_time"
    assert 1 <= report.steps < math.ceil(n_train(400) / 16)
    assert len(generator.sample(GenerationRequest(size=50, random_state=0))) == 50


def test_early_stopping_keeps_the_best_checkpoint(monkeypatch: pytest.MonkeyPatch):
    # Independent uniform noise: nothing to learn beyond the marginals, so validation loss stalls.
    # The output biases are calibrated after the best checkpoint is restored (tested in
    # test_sequence_calibration.py); left out here, the handed-back model is exactly that checkpoint.
    monkeypatch.setattr(training, "calibrate_output_biases", lambda *args, **kwargs: None)
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({c: rng.choice(list("abcdefgh"), 200) for c in "xyz"})
    events: list[EngineProgress] = []
    generator = fit(frame, events, max_epochs=200, batch_size=32)
    report = generator.report
    assert report.stop_reason == "early_stopping"
    assert report.epochs < 200
    val_losses = [e.val_loss for e in events if e.step == "TRAIN_MODEL"]
    assert report.best_val_loss == pytest.approx(min(val_losses))
    # the model handed back is the best one, not the last one trained
    holdout = frame.loc[generator.holdout_index]
    codes = torch.from_numpy(encode_frame(generator.transforms.forward(holdout), generator.plans))
    shape = generator.model.shape
    column_of = torch.tensor(shape.column_of)
    sub_index = torch.tensor(
        [sum(1 for k in range(j) if shape.column_of[k] == c) for j, c in enumerate(shape.column_of)]
    )
    assert validation_loss(generator.model, codes, column_of, sub_index) == pytest.approx(
        report.best_val_loss, rel=1e-4
    )


def test_progress_events_carry_epoch_losses_and_time():
    events: list[EngineProgress] = []
    generator = fit(small_frame(300), events, max_epochs=2, batch_size=32)
    steps = [e.step for e in events]
    assert steps.index("ANALYZE") < steps.index("ENCODE") < steps.index("TRAIN_MODEL")
    train = [e for e in events if e.step == "TRAIN_MODEL"]
    assert [e.epoch for e in train] == pytest.approx([1.0, 2.0])
    for e in train:
        assert e.loss is not None and math.isfinite(e.loss) and e.loss > 0
        assert e.val_loss is not None and math.isfinite(e.val_loss) and e.val_loss > 0
        assert 0 < e.completed <= e.total
        assert "epoch" in e.message
    elapsed = [e.elapsed for e in train]
    assert elapsed[0] > 0 and elapsed == sorted(elapsed)
    assert train[-1].completed == train[-1].total == generator.report.steps
    # the model learns: training loss goes down
    assert train[-1].loss < train[0].loss
    generated: list[EngineProgress] = []
    generator.sample(GenerationRequest(size=500, random_state=0), on_progress=generated.append)
    assert generated and generated[-1].step == "GENERATE_DATA"
    assert generated[-1].completed == generated[-1].total == 500


def test_large_model_fits_a_small_table_and_generates():
    frame = small_frame(300)
    large = fit(frame, model_size="large")
    small = fit(frame, model_size="small")
    n_params = [sum(p.numel() for p in g.model.parameters()) for g in (large, small)]
    assert n_params[0] > 2 * n_params[1]
    out = large.sample(GenerationRequest(size=400, random_state=0))
    assert list(out.columns) == list(frame.columns) and len(out) == 400
    assert (out.dtypes == frame.dtypes).all()
    assert set(out["color"]) <= set(frame["color"])


# ---------------------------------------------------------------------------------- value protection
def rare_frame() -> pd.DataFrame:
    common = ["a"] * 150 + ["b"] * 100 + ["c"] * 30
    rare = [f"rare{i}" for i in range(20)]  # one row each
    values = pd.Series(common + rare, dtype=object).sample(frac=1, random_state=0).reset_index(drop=True)
    return pd.DataFrame({"cat": values, "x": RNG.normal(size=len(values)).round(2)})


def test_rare_categories_are_sampled_from_common_ones_with_sample_method():
    frame = rare_frame()
    generator = fit(frame, max_epochs=2, rare_category_replacement_method="SAMPLE")
    out = generator.sample(GenerationRequest(size=3000, random_state=0))["cat"]
    assert "_RARE_" not in set(out)
    assert set(out.dropna()) <= {"a", "b", "c"}
    assert out.isna().sum() == 0


def test_rare_categories_become_a_token_with_constant_method():
    generator = fit(rare_frame(), max_epochs=2, rare_category_replacement_method="CONSTANT")
    out = generator.sample(GenerationRequest(size=3000, random_state=0))["cat"]
    assert "_RARE_" in set(out)
    assert not any(str(v).startswith("rare") for v in out)


def test_datetime_outliers_never_appear_in_the_output():
    rng = np.random.default_rng(4)
    stamps = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 366 * 24, 298), unit="h"))
    stamps = pd.concat([stamps, pd.Series(pd.to_datetime(["1900-06-01", "2199-12-31"]))], ignore_index=True)
    frame = pd.DataFrame({"at": stamps, "day": stamps.dt.strftime("%d.%m.%Y")})
    generator = fit(frame, max_epochs=2)
    out = generator.sample(GenerationRequest(size=3000, random_state=0))
    ordered = np.sort(stamps.to_numpy())
    lo, hi = ordered[RARE_THRESHOLD - 1], ordered[-RARE_THRESHOLD]
    assert out["at"].min() >= lo and out["at"].max() <= hi
    assert out["at"].dt.year.between(2020, 2021).all()
    days = pd.to_datetime(out["day"], format="%d.%m.%Y")
    assert days.min() >= pd.Timestamp(lo).normalize() and days.max() <= hi
    assert days.dt.year.between(2020, 2021).all()


# ------------------------------------------------------------------------------ encoding round trips
def round_trip(values: pd.Series, encoding: str = "AUTO") -> tuple[pd.Series, str]:
    plan = plan_column("c", values, encoding, protect=False, options={})
    encoder = encoder_for(plan.encoding_type)
    codes = encoder.encode(to_model_space(values, plan), plan.stats)
    return restore(encoder.decode(codes, plan.stats, np.random.default_rng(0)), plan), plan.encoding_type


def assert_same(out: pd.Series, values: pd.Series) -> None:
    assert out.dtype == values.dtype
    pd.testing.assert_series_equal(
        out.reset_index(drop=True), values.reset_index(drop=True), check_names=False
    )


@pytest.mark.parametrize("dtype", ["object", "str"])
@pytest.mark.parametrize("encoding", ["AUTO", "TABULAR_CHARACTER"])
def test_character_encoding_keeps_nulls(dtype: str, encoding: str):
    # lengths 5 to 7: the string ends at different positions
    values = pd.Series([f"INV-{i}" for i in RNG.permutation(400)], dtype=object)
    values[::6] = None
    values = values.astype(dtype)
    out, used = round_trip(values, encoding)
    assert used == "TABULAR_CHARACTER"
    assert_same(out, values)


def test_time_zone_aware_datetimes_with_nat():
    # across the spring DST change, where wall-clock times jump an hour
    values = pd.Series(pd.date_range("2021-03-27", periods=400, freq="23min", tz="Europe/Vienna"))
    values[::7] = pd.NaT
    out, used = round_trip(values)
    assert used == "TABULAR_DATETIME"
    assert_same(out, values)
    utc = pd.Series(pd.date_range("2021-01-01", periods=400, freq="7h", tz="UTC"))
    utc[3::5] = pd.NaT
    assert_same(round_trip(utc)[0], utc)


@pytest.mark.parametrize("encoding", ["TABULAR_NUMERIC_DIGIT", "TABULAR_NUMERIC_DISCRETE"])
@pytest.mark.parametrize(
    "values",
    [
        pd.Series(np.round(RNG.normal(-5, 30, 400), 3)),
        pd.Series(RNG.integers(-50, 5000, 400), dtype="Int64"),
        pd.Series(RNG.integers(0, 90, 400)).astype("float64"),
    ],
    ids=["floats", "nullable-ints", "whole-floats"],
)
def test_digit_and_discrete_numbers_keep_nulls(values: pd.Series, encoding: str):
    values = values.copy()
    values[::5] = None
    out, used = round_trip(values, encoding)
    assert used == encoding
    assert_same(out, values)


def test_nullable_booleans_stay_nullable_booleans():
    values = pd.Series(RNG.random(400) < 0.3, dtype="boolean")
    values[::6] = pd.NA
    out, used = round_trip(values)
    assert used == "TABULAR_CATEGORICAL"
    assert_same(out, values)


def test_mixed_frame_keeps_dtypes_and_null_shares():
    n = 300
    rng = np.random.default_rng(8)
    stamps = pd.Series(
        pd.Timestamp("2022-01-01", tz="Europe/Vienna") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")
    )
    frame = pd.DataFrame(
        {
            # first without nulls: see test_first_column_marginal_is_learned_on_small_tables
            "store": rng.choice(["north", "south", "east"], n),
            "qty": pd.Series(rng.integers(0, 8, n), dtype="Int64"),
            "at": stamps,
            "day": stamps.dt.strftime("%Y-%m-%d").astype(object),
            "where": [
                f"{a:.4f}, {b:.4f}"
                for a, b in zip(rng.uniform(47, 49, n), rng.uniform(15, 17, n), strict=True)
            ],
            "order_id": [f"ORD-{i:05d}" for i in rng.permutation(n)],
            "flag": pd.Series(rng.random(n) < 0.4, dtype="boolean"),
        }
    )
    for column, share in [
        ("qty", 0.2),
        ("at", 0.1),
        ("day", 0.15),
        ("where", 0.1),
        ("order_id", 0.05),
        ("flag", 0.2),
    ]:
        frame.loc[rng.random(n) < share, column] = None
    generator = fit(frame, max_epochs=2)
    encodings = {p.name: p.encoding_type for p in generator.plans}
    assert encodings == {
        "store": "TABULAR_CATEGORICAL",
        "qty": "TABULAR_NUMERIC_AUTO",
        "at": "TABULAR_DATETIME",
        "day": "TABULAR_DATETIME",
        "where": "TABULAR_LAT_LONG",
        "order_id": "TABULAR_CHARACTER",
        "flag": "TABULAR_CATEGORICAL",
    }
    out = generator.sample(GenerationRequest(size=1500, random_state=0))
    for column in frame.columns:
        assert out[column].dtype == frame[column].dtype, column
        assert abs(out[column].isna().mean() - frame[column].isna().mean()) < 0.08, column
    assert out["day"].dropna().str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert out["where"].dropna().str.match(r"^\d{2}\.\d{4}, \d{2}\.\d{4}$").all()
    assert out["order_id"].dropna().str.match(r"^ORD-\d{5}$").all()
    assert str(out["at"].dt.tz) == "Europe/Vienna"


def test_first_column_marginal_is_learned_on_small_tables():
    """Heads start at the training marginals, so even a short training keeps the null share."""
    rng = np.random.default_rng(8)
    qty = pd.Series(rng.integers(0, 40, 400), dtype="Int64")
    qty[rng.random(400) < 0.2] = pd.NA
    frame = pd.DataFrame({"qty": qty, "other": rng.normal(size=400).round(2)})
    generator = fit(frame, max_epochs=10)
    out = generator.sample(GenerationRequest(size=4000, random_state=0))
    assert abs(out["qty"].isna().mean() - qty.isna().mean()) < 0.05
