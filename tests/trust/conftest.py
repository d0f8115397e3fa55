"""Fixtures for the trust tests: one small trained generator (with a FixedCombinations constraint,
a unique ID column and its model report) and its export, shared by the whole folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth_dagster.sdk import Generator, SynthClient

FAST = {"max_epochs": 2, "model": "MOSTLY_AI/Small"}


def people(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """A small table of people: a unique customer id, and ordinary columns beside it."""
    rng = np.random.default_rng(seed)
    cities = rng.choice(["Vienna", "Graz", "Linz", "Salzburg"], n, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame(
        {
            "customer_id": [f"CUST-{i:05d}-{rng.integers(1000, 9999)}" for i in range(n)],
            "ticket": [f"TK{v}" for v in rng.choice(10**8, n, replace=False)],  # unique, but no key
            "age": rng.integers(18, 90, n),
            "city": cities,
            "zip": np.where(cities == "Vienna", "1010", np.where(cities == "Graz", "8010", "4020")),
            "income": np.round(rng.lognormal(10, 0.5, n), 2),
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
        }
    )


@pytest.fixture(scope="session")
def people_df() -> pd.DataFrame:
    return people()


@pytest.fixture(scope="session")
def trust_client(tmp_path_factory: pytest.TempPathFactory) -> SynthClient:
    return SynthClient(tmp_path_factory.mktemp("trust-store"), quiet=True)


@pytest.fixture(scope="session")
def people_generator(trust_client: SynthClient, people_df: pd.DataFrame) -> Generator:
    return trust_client.train(
        config={
            "name": "people",
            "random_state": 1,
            "tables": [
                {
                    "name": "people",
                    "data": people_df,
                    "primary_key": "customer_id",
                    "tabular_model_configuration": FAST,
                }
            ],
            "constraints": [
                {"type": "FixedCombinations", "config": {"table_name": "people", "columns": ["city", "zip"]}}
            ],
        },
        progress_bar=False,
    )


@pytest.fixture(scope="session")
def people_export(people_generator: Generator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return people_generator.export_to_file(tmp_path_factory.mktemp("export") / "people.zip")


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
