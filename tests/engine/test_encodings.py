"""Round trips of every tabular encoding, directly through analyze -> encode -> decode -> restore."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.engine.analysis import detect, plan_column, restore, to_model_space
from synth_dagster.engine.encoding import encoder_for

RNG = np.random.default_rng(0)
N = 400


def round_trip(values: pd.Series, encoding: str = "AUTO", protect: bool = False) -> tuple[pd.Series, str]:
    plan = plan_column("c", values, encoding, protect=protect, options={})
    encoder = encoder_for(plan.encoding_type)
    codes = encoder.encode(to_model_space(values, plan), plan.stats)
    assert codes.shape == (len(values), len(plan.sub_columns()))
    for j, spec in enumerate(plan.sub_columns()):
        assert codes[:, j].min() >= 0 and codes[:, j].max() < spec.cardinality
    decoded = encoder.decode(codes, plan.stats, np.random.default_rng(0))
    return restore(decoded, plan), plan.encoding_type


def test_categorical_with_nulls_keeps_values_and_dtype():
    values = pd.Series(RNG.choice(["red", "green", "blue"], N), dtype="str")
    values[::7] = None
    out, enc = round_trip(values)
    assert enc == "TABULAR_CATEGORICAL"
    assert out.dtype == values.dtype
    pd.testing.assert_series_equal(out, values, check_names=False)


def test_booleans_stay_booleans():
    values = pd.Series(RNG.random(N) < 0.3)
    out, enc = round_trip(values)
    assert enc == "TABULAR_CATEGORICAL" and out.dtype == bool
    assert (out == values).all()


@pytest.mark.parametrize(
    "encoding", ["TABULAR_NUMERIC_AUTO", "TABULAR_NUMERIC_DISCRETE", "TABULAR_NUMERIC_DIGIT"]
)
def test_integers_round_trip_exactly(encoding: str):
    values = pd.Series(RNG.integers(-50, 5000, N), dtype="int64")
    out, _ = round_trip(values, encoding)
    assert out.dtype == np.int64
    assert (out == values).all()


def test_nullable_integers_stay_nullable():
    values = pd.Series(RNG.integers(0, 30, N), dtype="Int64")
    values[::5] = pd.NA
    out, _ = round_trip(values)
    assert str(out.dtype) == "Int64"
    assert out.isna().sum() == values.isna().sum()
    assert (out.dropna() == values.dropna()).all()


def test_binned_floats_keep_point_masses_and_precision():
    values = pd.Series(np.round(RNG.normal(50, 10, N), 2))
    values[:100] = 55.0  # a heavy point mass must come back exactly
    values[::9] = np.nan
    out, enc = round_trip(values, "TABULAR_NUMERIC_BINNED")
    assert enc == "TABULAR_NUMERIC_BINNED" and out.dtype == np.float64
    assert out.isna().sum() == values.isna().sum()
    assert (out[:100].dropna() == 55.0).all()
    assert np.allclose(out.dropna(), out.dropna().round(2))
    # each value lands in the group it came from, so it stays close
    assert (out - values).abs().max() < 5


def test_datetimes_without_time_zone():
    values = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(RNG.integers(0, 10**7, N), unit="s"))
    values[::6] = pd.NaT
    out, enc = round_trip(values)
    assert enc == "TABULAR_DATETIME" and out.dtype == values.dtype
    pd.testing.assert_series_equal(out, values, check_names=False)


def test_datetimes_with_time_zone_keep_their_zone():
    values = pd.Series(pd.date_range("2021-03-01", periods=N, freq="37min", tz="Europe/Vienna"))
    out, _ = round_trip(values)
    assert str(out.dtype) == str(values.dtype)
    pd.testing.assert_series_equal(out, values, check_names=False)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"])
def test_date_strings_come_back_as_strings_in_their_format(fmt: str):
    stamps = pd.Timestamp("2019-05-03") + pd.to_timedelta(RNG.integers(0, 800, N), unit="D")
    if "%H" in fmt:
        stamps = stamps + pd.to_timedelta(RNG.integers(0, 86400, N), unit="s")
    values = pd.Series(pd.DatetimeIndex(stamps).strftime(fmt), dtype=object)
    values[::8] = None
    encoding, kind, extras = detect(values)
    assert encoding == "TABULAR_DATETIME" and kind == "datetime_string" and extras["datetime_format"] == fmt
    out, _ = round_trip(values)
    assert out.isna().sum() == values.isna().sum()
    assert (out.dropna() == values.dropna()).all()


def test_lat_long_strings():
    lat, lon = RNG.uniform(40, 50, N).round(4), RNG.uniform(-10, 10, N).round(4)
    values = pd.Series([f"{a:.4f}, {b:.4f}" for a, b in zip(lat, lon, strict=True)], dtype=object)
    values[::10] = None
    out, enc = round_trip(values)
    assert enc == "TABULAR_LAT_LONG"
    assert out.isna().sum() == values.isna().sum()
    parsed = out.dropna().str.split(", ", expand=True).astype(float)
    assert parsed[0].between(40, 50).all() and parsed[1].between(-10, 10).all()
    assert (out.dropna().str.split(", ").str[0].str.split(".").str[1].str.len() == 4).all()


def test_id_like_strings_are_character_encoded_not_collapsed():
    values = pd.Series([f"CUST-{i:05d}" for i in RNG.permutation(N)], dtype=object)
    out, enc = round_trip(values)
    assert enc == "TABULAR_CHARACTER"
    assert (out == values).all()
    protected, _ = round_trip(values, protect=True)
    assert "_RARE_" not in set(protected)
    assert protected.str.match(r"^CUST-\d{5}$").all()


def test_value_protection_hides_rare_categories_and_extremes():
    values = pd.Series(["a"] * 200 + ["b"] * 150 + ["once"], dtype=object)
    out, _ = round_trip(values, "TABULAR_CATEGORICAL", protect=True)
    assert "once" not in set(out) and "_RARE_" in set(out)
    numbers = pd.Series(np.r_[np.arange(300.0), 1e9])
    out, _ = round_trip(numbers, "TABULAR_NUMERIC_BINNED", protect=True)
    assert out.max() < 1e9 and out.min() > 0.0


def _plan_by_subject(values: pd.Series, encoding: str, subjects: np.ndarray | None):
    from synth_dagster.engine.encoding.base import SUBJECTS

    options = {} if subjects is None else {SUBJECTS: subjects}
    return plan_column("c", values, encoding, protect=True, options=options)


@pytest.mark.parametrize("encoding", ["TABULAR_CATEGORICAL", "TABULAR_NUMERIC_DISCRETE"])
def test_value_protection_in_sequences_counts_subjects_not_rows(encoding: str):
    """One subject's twelve rows (a player's seasons at one team) do not make a value common:
    counted by row it is kept, counted by subject (12 rows, 1 subject) it is rare."""
    common = np.repeat(np.arange(40), 10)  # 40 subjects with 10 rows each
    codes = np.r_[np.tile([1, 2], 200), [7] * 12]
    if encoding == "TABULAR_CATEGORICAL":
        values = pd.Series(codes).map({1: "a", 2: "b", 7: "one player's team"}).astype(object)
    else:
        values = pd.Series(codes, dtype=float)
    subjects = np.r_[common, [99] * 12]
    by_row = _plan_by_subject(values, encoding, None).stats
    by_subject = _plan_by_subject(values, encoding, subjects).stats
    key = "categories" if encoding == "TABULAR_CATEGORICAL" else "values"
    assert len(by_row[key]) == 3 and len(by_subject[key]) == 2


def test_value_protection_in_sequences_cuts_ranges_at_the_kth_subject():
    """An extreme held for many rows by one subject is cut as if it were one row; the same for
    datetimes (exactly, in nanoseconds)."""
    rng = np.random.default_rng(1)
    numbers = np.r_[rng.uniform(0, 100, 400), [1e6] * 20]
    subjects = np.r_[np.repeat(np.arange(40), 10), [99] * 20]
    by_row = _plan_by_subject(pd.Series(numbers), "TABULAR_NUMERIC_BINNED", None).stats
    by_subject = _plan_by_subject(pd.Series(numbers), "TABULAR_NUMERIC_BINNED", subjects).stats
    assert by_row["hi"] == 1e6 and by_subject["hi"] < 100
    dates = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(numbers * 3600 + 0.5, unit="s"))
    stats = _plan_by_subject(dates, "TABULAR_DATETIME", subjects).stats
    per_subject_max = dates.groupby(subjects).max().sort_values()
    assert stats["hi"] == per_subject_max.iloc[-5].value  # the 5th largest subject maximum, exact
