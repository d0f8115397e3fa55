"""Seed values a generator never learned: warned about, not refused (the user may mean them).

The ranges are the protected ones the encoders stored (the k-th smallest and largest training
values, see `encoding.base.protected_bounds`), not the raw minimum and maximum: values beyond them
are clipped when encoded, so the rest of the row is drawn as for the bound.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from synth_dagster.engine.analysis import ColumnPlan, to_model_space
from synth_dagster.engine.encoding.datetime import as_datetime_ns
from synth_dagster.engine.errors import SeedOutsideTrainingWarning

log = logging.getLogger(__name__)

KEPT_AS_GIVEN = "the rows keep it, but their other columns are drawn as for"


def warn_unlearned_seed_values(
    seed: pd.DataFrame, plans: list[ColumnPlan], model_column: Callable[[str], str]
) -> list[str]:
    """Warn (SeedOutsideTrainingWarning and a log line) about each seed column holding a value
    outside what its plan learned; returns the messages. A column that a constraint encodes as
    another (`model_column(column) != column`) is not checked: its plan describes the other."""
    own = {plan.name: plan for plan in plans}
    messages = []
    for column in seed.columns:
        plan = own.get(column) if model_column(column) == column else None
        message = _unlearned(seed[column], plan) if plan is not None else None
        if message is not None:
            messages.append(f"seed column {column!r}: {message}")
    for message in messages:
        log.warning(message)
        warnings.warn(message, SeedOutsideTrainingWarning, stacklevel=4)
    return messages


def _unlearned(values: pd.Series, plan: ColumnPlan) -> str | None:
    kind = plan.encoding_type
    if kind.startswith("TABULAR_NUMERIC"):
        numbers = pd.to_numeric(to_model_space(values, plan), errors="coerce").to_numpy(dtype=float)
        return _outside(numbers, float(plan.stats["lo"]), float(plan.stats["hi"]), _number)
    if kind == "TABULAR_DATETIME":
        ns, null = as_datetime_ns(to_model_space(values, plan))
        return _outside(np.where(null, np.nan, ns.astype(float)), plan.stats["lo"], plan.stats["hi"], _date)
    if kind == "TABULAR_CATEGORICAL":
        cats = plan.stats["categories"]
        unknown = (
            pd.Categorical(values.astype(object), categories=cats).codes == -1
        ) & values.notna().to_numpy()
        if unknown.any():
            first = values[unknown].iloc[0]
            more = _more(int(values[unknown].nunique()) - 1)
            return (
                f"category {first!r}{more} does not occur in the training data, or too rarely for the "
                f"generator to produce it; {KEPT_AS_GIVEN} a rare category"
            )
    return None


def _outside(values: np.ndarray, lo: float, hi: float, show: Callable[[float], str]) -> str | None:
    out = (values < lo) | (values > hi)  # NaN compares False: an empty seed cell is not checked
    if not out.any():
        return None
    first = float(values[out][0])
    nearest = lo if first < lo else hi
    return (
        f"value {show(first)}{_more(int(out.sum()) - 1)} is outside the training range "
        f"[{show(lo)}, {show(hi)}] (after value protection); {KEPT_AS_GIVEN} {show(nearest)}"
    )


def _more(n: int) -> str:
    return f" (and {n} more)" if n > 0 else ""


def _number(value: float) -> str:
    return f"{value:g}"


def _date(value: float) -> str:
    return str(pd.Timestamp(int(value)))
