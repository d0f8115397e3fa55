"""A flat table in model space: checks of the frame, its column plans and constraint transforms,
its codes, and the model shape and allowed codes that follow from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synth_dagster.engine.analysis import ColumnPlan, plan_column, to_model_space
from synth_dagster.engine.constraints import TableTransforms
from synth_dagster.engine.encoding import encoder_for
from synth_dagster.engine.encoding.base import SUBJECTS
from synth_dagster.engine.encoding.private import DP_BUDGET, ValueBudget, column_budgets
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat.options import FlatOptions
from synth_dagster.engine.model import ModelShape

if TYPE_CHECKING:
    from synth_dagster.engine.flat.generator import FlatGenerator


def check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise EngineInputError(f"training data must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise EngineInputError("the table has no columns; give it at least one column to learn")
    if len(frame) == 0:
        raise EngineInputError(
            "the table is empty (0 rows); a generator needs at least one row to learn from"
        )
    dup = frame.columns[frame.columns.duplicated()].tolist()
    if dup:
        raise EngineInputError(f"column names must be unique; duplicated: {dup}")


def analyze_frame(
    frame: pd.DataFrame,
    options: FlatOptions,
    previous: FlatGenerator | None = None,
    subjects: np.ndarray | None = None,
    column_subjects: Mapping[str, np.ndarray | None] | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[TableTransforms, list[ColumnPlan], pd.DataFrame]:
    """Constraint transforms and column plans of a table (or the earlier ones of `previous`), and
    the frame in model space. `subjects`: the subject of every row, for value protection by
    subject in sequence tables (`encoding.base.SUBJECTS`). `column_subjects`: per column whose
    protection differs from the table's, the subject of every row, or None for no protection
    (a child's copy of its parents' columns follows the parent table's value protection). With
    differential privacy, every column gets a share of the value-protection budget (`extra`: more
    names that take a share, e.g. a sequence's rising columns; `encoding.private`)."""
    column_subjects = column_subjects or {}
    if previous is not None:
        return previous.transforms, previous.plans, previous.transforms.forward(frame)
    transforms = TableTransforms.fit(frame, options.constraints)
    model_frame = transforms.forward(frame)
    budgets = dp_budgets(options, list(model_frame.columns), extra)
    plans = [
        plan_column(
            name,
            model_frame[name],
            transforms.encoding_type(name, options.encoding_types.get(name, "AUTO")),
            protect=column_subjects[name] is not None
            if name in column_subjects
            else options.value_protection,
            options={
                "rare_category_replacement_method": transforms.rare_method(
                    name, options.rare_category_replacement_method
                ),
                SUBJECTS: column_subjects[name] if name in column_subjects else subjects,
            }
            | ({DP_BUDGET: budgets[name]} if name in budgets else {}),
        )
        for name in model_frame.columns
    ]
    return transforms, plans, model_frame


def dp_budgets(
    options: FlatOptions, columns: list[str], extra: tuple[str, ...] = ()
) -> dict[str, ValueBudget]:
    """Each column's share of the value-protection budget (empty without differential privacy)."""
    dp = options.differential_privacy
    if dp is None or not options.value_protection:
        return {}
    seed = (
        options.random_state
        if options.random_state is not None
        else int(np.random.SeedSequence().entropy % 2**31)
    )
    return column_budgets(columns + list(extra), dp.value_protection_epsilon, dp.analysis_delta, seed)


def shape_for(plans: list[ColumnPlan], size: str, context_dim: int = 0) -> ModelShape:
    return ModelShape(
        cardinalities=tuple(s.cardinality for p in plans for s in p.sub_columns()),
        column_of=tuple(i for i, p in enumerate(plans) for _ in p.sub_columns()),
        size=size,
        context_dim=context_dim,
    )


def allowed_codes(codes: np.ndarray, shape: ModelShape) -> list[np.ndarray]:
    """Per sub-column, the codes seen in training (the only ones generation may draw)."""
    return [np.bincount(codes[:, j], minlength=c) > 0 for j, c in enumerate(shape.cardinalities)]


def rows_by_pattern(given: np.ndarray) -> list[np.ndarray]:
    """Row indices grouped by which columns are given (seeded), in order of first appearance."""
    if len(given) == 0:
        return []
    if not given.any():
        return [np.arange(len(given))]
    _, first, inverse = np.unique(given, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [np.flatnonzero(inverse == g) for g in np.argsort(first)]


def exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to n that follow `shares` as closely as possible (largest remainder)."""
    shares = np.asarray(shares, dtype=float)
    raw = shares / shares.sum() * n if shares.sum() > 0 else np.full(len(shares), n / len(shares))
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: n - counts.sum()]] += 1
    return counts


def encode_frame(frame: pd.DataFrame, plans: list[ColumnPlan]) -> np.ndarray:
    blocks = [encoder_for(p.encoding_type).encode(to_model_space(frame[p.name], p), p.stats) for p in plans]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.int64)


def overlay(generated: pd.Series, seeded: pd.Series, keep: pd.Series) -> pd.Series:
    """Seeded values replace generated ones where kept, in the generated column's dtype where possible."""
    try:
        return generated.where(~keep, seeded.astype(generated.dtype))
    except (TypeError, ValueError):
        return generated.astype(object).where(~keep, seeded.astype(object))
