"""AUTO detection of date / datetime strings and "lat, long" strings as users load them from CSV."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.analysis import detect, plan_column, restore, to_model_space
from synth_dagster.engine.encoding import encoder_for

N = 300
FAST = {"max_epochs": 2, "model_size": "small", "random_state": 0}
RNG = np.random.default_rng(11)
STAMPS = pd.DatetimeIndex(
    pd.Timestamp("2019-05-03")
    + pd.to_timedelta(RNG.integers(0, 800, N), unit="D")
    + pd.to_timedelta(RNG.integers(0, 86_400_000, N), unit="ms")
)

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d %b %Y"]
TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"]
MINUTE_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %H:%M"]
# One small generator per group: the cost of a training step grows with the number of sub-columns.
GROUPS = [DATE_FORMATS, TIME_FORMATS, MINUTE_FORMATS]
FORMATS = [fmt for group in GROUPS for fmt in group]


def column_name(fmt: str) -> str:
    return f"d{FORMATS.index(fmt)}"


def strings(fmt: str, null_every: int = 9) -> pd.Series:
    values = pd.Series(STAMPS.strftime(fmt), dtype=object)
    values[::null_every] = None
    return values


def round_trip(values: pd.Series) -> tuple[pd.Series, str]:
    plan = plan_column("c", values, "AUTO", protect=False, options={})
    encoder = encoder_for(plan.encoding_type)
    codes = encoder.encode(to_model_space(values, plan), plan.stats)
    return restore(encoder.decode(codes, plan.stats, np.random.default_rng(0)), plan), plan.encoding_type


@functools.cache
def fitted_group(g: int) -> tuple[pd.DataFrame, FlatGenerator, pd.DataFrame]:
    """(training frame, generator, sample) for one group of formats, fitted once per session."""
    frame = pd.DataFrame({column_name(fmt): strings(fmt) for fmt in GROUPS[g]})
    frame["amount"] = RNG.gamma(2.0, 50.0, N).round(2)
    generator = FlatGenerator.fit(frame, FlatOptions(**dict(FAST, max_epochs=1)))
    return frame, generator, generator.sample(GenerationRequest(size=600, random_state=1))


@pytest.mark.parametrize("fmt", FORMATS)
def test_date_strings_are_detected_and_generated_in_their_format(fmt: str):
    frame, generator, sample = fitted_group(next(g for g, group in enumerate(GROUPS) if fmt in group))
    name = column_name(fmt)
    plan = generator.plan(name)
    assert plan.encoding_type == "TABULAR_DATETIME"
    assert plan.source_kind == "datetime_string"
    assert plan.datetime_format == fmt
    out = sample[name]
    assert out.dtype == frame[name].dtype
    present = out.dropna()
    assert len(present) > 0.6 * len(out)
    assert present.map(type).eq(str).all()
    parsed = pd.to_datetime(present, format=fmt, errors="coerce")
    assert parsed.notna().all(), present[parsed.isna()].head().tolist()
    # generated in the training range, and written exactly as parsing them again would write them
    train = pd.to_datetime(frame[name], format=fmt)
    assert parsed.min() >= train.min() and parsed.max() <= train.max()
    assert (pd.Series(pd.DatetimeIndex(parsed).strftime(fmt), index=present.index) == present).all()


def test_day_first_wins_when_only_late_values_have_days_over_12():
    values = pd.Series(["01/02/2020", "03/04/2021", "11/12/2020"] * 20 + ["25/12/2020", "13/01/2021"])
    encoding, kind, extras = detect(values)
    assert (encoding, kind, extras["datetime_format"]) == ("TABULAR_DATETIME", "datetime_string", "%d/%m/%Y")


def test_month_first_wins_when_only_late_values_have_months_over_12():
    values = pd.Series(["01/02/2020", "03/04/2021", "11/12/2020"] * 20 + ["12/25/2020", "01/13/2021"])
    assert detect(values)[2]["datetime_format"] == "%m/%d/%Y"


def test_ambiguous_dates_read_month_first_like_pandas():
    values = pd.Series(["01/02/2020", "03/04/2021", "11/12/2020", "05/06/2019"] * 10)
    assert detect(values)[2]["datetime_format"] == "%m/%d/%Y"


def test_day_first_wins_when_neither_order_parses_every_value():
    dates = pd.Series(STAMPS.strftime("%d/%m/%Y"))
    dates[:6] = "n/a"  # 2% noise: no format parses everything
    assert detect(dates)[2]["datetime_format"] == "%d/%m/%Y"


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(STAMPS.strftime("%-m/%-d/%Y %-I:%M %p")),  # US exports drop zero padding
        pd.Series(STAMPS.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"),  # JavaScript ISO strings
        pd.Series(STAMPS.strftime("%Y-%m-%d %H:%M:%S") + "+0100"),
    ],
    ids=["unpadded", "millis-Z", "offset-no-colon"],
)
def test_string_style_comes_back_exactly(values: pd.Series):
    values[::7] = None
    out, encoding = round_trip(values)
    assert encoding == "TABULAR_DATETIME"
    assert out.isna().sum() == values.isna().sum()
    assert (out.dropna() == values.dropna()).all()


def mixed_offsets() -> pd.Series:
    # Europe/Vienna across DST: "+01:00" in winter, "+02:00" in summer, in one column.
    local = STAMPS.tz_localize("UTC").tz_convert("Europe/Vienna").strftime("%Y-%m-%dT%H:%M:%S%z")
    values = pd.Series(local, dtype=object).str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
    values[::10] = None
    return values


def test_mixed_utc_offsets_keep_their_instants():
    values = mixed_offsets()
    assert {v[-6:] for v in values.dropna()} == {"+01:00", "+02:00"}
    out, encoding = round_trip(values)
    assert encoding == "TABULAR_DATETIME"
    assert out.isna().sum() == values.isna().sum()
    assert out.dropna().str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$").all()
    fmt = "%Y-%m-%dT%H:%M:%S%z"
    before = pd.to_datetime(values.dropna(), format=fmt, utc=True)
    after = pd.to_datetime(out.dropna(), format=fmt, utc=True)
    assert (before == after).all()


def test_mixed_utc_offsets_train_and_generate(tmp_path):
    frame = pd.DataFrame({"at": mixed_offsets(), "n": RNG.integers(0, 9, N)})
    generator = FlatGenerator.fit(frame, FlatOptions(**FAST))
    assert generator.plan("at").encoding_type == "TABULAR_DATETIME"
    out = generator.sample(GenerationRequest(size=400, random_state=0))["at"]
    assert out.dtype == frame["at"].dtype
    parsed = pd.to_datetime(out.dropna(), format="%Y-%m-%dT%H:%M:%S%z", utc=True)
    train = pd.to_datetime(frame["at"].dropna(), format="%Y-%m-%dT%H:%M:%S%z", utc=True)
    assert parsed.min() >= train.min() and parsed.max() <= train.max()
    # seeded strings are returned unchanged
    seed = pd.DataFrame({"at": frame["at"].dropna().iloc[:5].to_numpy()})
    seeded = generator.sample(GenerationRequest(seed=seed, random_state=0))
    assert list(seeded["at"]) == list(seed["at"])
    # the output style survives saving and loading the generator
    generator.save(tmp_path / "g")
    again = FlatGenerator.load(tmp_path / "g").sample(GenerationRequest(size=400, random_state=0))["at"]
    assert again.equals(out)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.Series([f"{z}" for z in RNG.integers(10_000, 99_999, N)]), "TABULAR_CHARACTER"),  # zip codes
        (pd.Series([f"{a}.{b}.{c}" for a, b, c in RNG.integers(0, 30, (N, 3))]), "TABULAR_CHARACTER"),
        (pd.Series(["SI1", "VS2", "VVS1", "I1"] * 75), "TABULAR_CATEGORICAL"),
        (pd.Series([f"({a}, {a + 300})" for a in RNG.integers(0, 40, N)]), "TABULAR_CATEGORICAL"),
        # half ISO, half day-first: no single format, so no date
        (
            pd.concat(
                [pd.Series(STAMPS[:150].strftime("%Y-%m-%d")), pd.Series(STAMPS[150:].strftime("%d/%m/%Y"))]
            ),
            None,
        ),
    ],
    ids=["zip-codes", "versions", "clarity", "intervals", "mixed-formats"],
)
def test_look_alikes_are_not_dates_or_coordinates(values: pd.Series, expected: str | None):
    encoding, kind, _ = detect(values.reset_index(drop=True))
    assert encoding not in ("TABULAR_DATETIME", "TABULAR_LAT_LONG") and kind == "string"
    if expected:
        assert encoding == expected
    out, _ = round_trip(values.reset_index(drop=True))
    assert (out == values.reset_index(drop=True)).all()


def test_lat_long_in_parentheses_round_trips():
    lat, lon = RNG.uniform(47, 49, N).round(3), RNG.uniform(15, 17, N).round(3)
    values = pd.Series([f"({a:.3f}, {b:.3f})" for a, b in zip(lat, lon, strict=True)], dtype=object)
    values[::8] = None
    encoding, _, extras = detect(values)
    assert encoding == "TABULAR_LAT_LONG" and extras["text_style"] == {"wrapped": True}
    out, _ = round_trip(values)
    assert out.isna().sum() == values.isna().sum()
    assert out.dropna().str.match(r"^\(\d{2}\.\d{3}, \d{2}\.\d{3}\)$").all()


def test_lat_long_in_parentheses_trains_and_generates():
    lat, lon = RNG.uniform(47, 49, N).round(3), RNG.uniform(15, 17, N).round(3)
    frame = pd.DataFrame({"where": [f"({a:.3f}, {b:.3f})" for a, b in zip(lat, lon, strict=True)]})
    generator = FlatGenerator.fit(frame, FlatOptions(**FAST))
    assert generator.plan("where").encoding_type == "TABULAR_LAT_LONG"
    out = generator.sample(GenerationRequest(size=300, random_state=0))["where"]
    assert out.dtype == frame["where"].dtype
    pairs = out.str.extract(r"^\((\d+\.\d{3}), (\d+\.\d{3})\)$").astype(float)
    assert pairs.notna().all().all()
    assert pairs[0].between(47, 49).all() and pairs[1].between(15, 17).all()
