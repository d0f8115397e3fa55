"""Seeds a draw starts from: rebalancing a categorical column to given shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.analysis import ColumnPlan
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat.frames import exact_counts


def rebalanced_seed(
    seed: pd.DataFrame,
    config: Mapping[str, Any],
    source_columns: list[str],
    plan_of: Callable[[str], ColumnPlan],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """`seed` with a rebalanced categorical column: its categories in the configured shares
    (exactly, then shuffled), the other categories sharing the rest as in training.
    `plan_of` gives the plan of a source column's model column."""
    column = config["column"]
    if column not in source_columns:
        raise EngineInputError(
            f"rebalancing column {column!r} is not a column of this generator: {source_columns}"
        )
    if column in seed.columns:
        raise EngineInputError(f"column {column!r} is both seeded and rebalanced; choose one")
    plan = plan_of(column)
    if plan.encoding_type != "TABULAR_CATEGORICAL" or plan.name != column:
        raise EngineInputError(
            f"rebalancing needs a categorical column, but {column!r} is encoded as {plan.encoding_type}; "
            "pick a categorical column or set its encoding to TABULAR_CATEGORICAL"
        )
    cats = plan.stats["categories"]
    counts = np.asarray(plan.stats["counts"], dtype=float)
    by_name = {str(c): i for i, c in enumerate(cats)}
    target = np.zeros(len(cats))
    for key, share in dict(config["probabilities"]).items():
        if str(key) not in by_name:
            raise EngineInputError(
                f"rebalancing category {key!r} does not occur in column {column!r} (or is too rare to be "
                f"generated); known categories: {[str(c) for c in cats[:20]]}"
            )
        target[by_name[str(key)]] = float(share)
    if target.sum() > 1 + 1e-9 or (target < 0).any():
        raise EngineInputError("rebalancing probabilities must be between 0 and 1 and sum to at most 1")
    rest = ~np.isin(np.arange(len(cats)), [by_name[str(k)] for k in config["probabilities"]])
    if rest.any() and counts[rest].sum() > 0:
        target[rest] = (1 - target.sum()) * counts[rest] / counts[rest].sum()
    target = target / target.sum()
    # Exact counts, then shuffled: shares hold to the row.
    values = np.repeat(np.asarray(cats, dtype=object), exact_counts(target, len(seed)))
    seed = seed.copy()
    seed[column] = pd.Series(values[rng.permutation(len(values))], dtype=object)
    return seed
