"""Seed values a generator never learned warn (they are kept, not refused), naming the column, the
value and the protected training range; values it learned do not."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from synth_dagster.engine.errors import SeedOutsideTrainingWarning
from synth_dagster.sdk import Generator, SynthClient

RANGE = re.compile(r"training range \[([-\d.e+]+), ([-\d.e+]+)\]")


def test_a_number_above_the_training_range_warns_with_the_protected_range(
    client: SynthClient,
    census_generator: Generator,
    census_df: pd.DataFrame,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING), pytest.warns(SeedOutsideTrainingWarning) as caught:
        rows = client.probe(census_generator, seed=pd.DataFrame({"wage": [1000.0, 1000.0]}))
    assert list(rows["wage"]) == [1000.0, 1000.0]  # kept as given: a warning, not a refusal
    (message,) = [str(w.message) for w in caught if w.category is SeedOutsideTrainingWarning]
    assert message.startswith("seed column 'wage': value 1000 (and 1 more) is outside the training range")
    lo, hi = (float(x) for x in RANGE.search(message).groups())
    wages = census_df["wage"]
    # the range value protection keeps, not the raw extremes of the training data
    assert wages.min() <= lo < hi < wages.max()
    assert (wages > hi).sum() >= 4, "the top values of single records lie beyond the protected maximum"
    assert f"drawn as for {hi:g}" in message
    assert any(r.levelno == logging.WARNING and r.getMessage() == message for r in caplog.records)


def test_seeds_inside_the_training_range_do_not_warn(
    client: SynthClient, census_generator: Generator, census_df: pd.DataFrame
) -> None:
    seed = pd.DataFrame(
        {"wage": [census_df["wage"].median()], "occupation": [census_df["occupation"].mode()[0]]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeedOutsideTrainingWarning)
        rows = client.probe(census_generator, seed=seed)
    assert len(rows) == 1 and rows["occupation"][0] == seed["occupation"][0]


def test_a_category_never_seen_in_training_warns(client: SynthClient, census_generator: Generator) -> None:
    with pytest.warns(SeedOutsideTrainingWarning, match=r"seed column 'occupation': category 'astronaut'"):
        client.probe(census_generator, seed=pd.DataFrame({"occupation": ["astronaut"]}))


def test_a_background_generation_logs_the_warning(
    client: SynthClient, census_generator: Generator, tmp_path: Path
) -> None:
    """client.generate runs in a worker process: the warning is in the job's log (not raised here)."""
    sd = client.generate(census_generator, seed=pd.DataFrame({"wage": [1000.0]}), progress_bar=False)
    assert sd.data()["wage"].tolist() == [1000.0]
    log = sd.generation.logs(tmp_path / "generation.log").read_text()
    assert "seed column 'wage': value 1000 is outside the training range" in log
