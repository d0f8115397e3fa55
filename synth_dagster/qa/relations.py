"""Accuracy of foreign-key relations: a child table's columns against the columns of its parent rows.

A non-context foreign key is not a sequence, so `assess` never sees the parent; here each child row is
joined with the parent row it references and every (child column, parent column) pair is scored with
the bivariate accuracy of `accuracy` (same binning, 1 - TVD per pair, mean over pairs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_dagster.domain.metrics import RelationAccuracy
from synth_dagster.qa import accuracy as acc
from synth_dagster.qa._prepare import (
    ColumnKind,
    FrameName,
    Prepared,
    _check_frame,
    _require_columns,
    column_kind,
    equal_size,
    sample_records,
)
from synth_dagster.qa.binning import fit_binning

PARENT_PREFIX = "parent::"  # parent columns in the joined frame; a child may share their names
DEFAULT_MAX_RELATION_SAMPLE_SIZE = 10_000  # joined rows per dataset


def referential_integrity(child_keys: pd.Series, parent_keys: pd.Series) -> float | None:
    """Share of the non-null child keys found among the parent keys; None without any non-null key."""
    present = child_keys.dropna()
    if len(present) == 0:
        return None
    return float(present.isin(parent_keys.dropna()).mean())


def join_parent(
    child: pd.DataFrame,
    parent: pd.DataFrame,
    *,
    foreign_key: str,
    primary_key: str,
    child_columns: list[str],
    parent_columns: list[str],
) -> pd.DataFrame:
    """Child columns with the columns of the referenced parent row (under `PARENT_PREFIX`).

    Rows whose key is null or matches no parent are left out; a duplicated parent key counts once.
    """
    lookup = parent.drop_duplicates(subset=[primary_key]).set_index(primary_key)[parent_columns]
    keys = child[foreign_key]
    matched = child[keys.notna() & keys.isin(lookup.index)]
    right = lookup.reindex(matched[foreign_key].to_numpy()).reset_index(drop=True)
    right.columns = [PARENT_PREFIX + c for c in parent_columns]
    return pd.concat([matched[child_columns].reset_index(drop=True), right], axis=1)


def relation_accuracy(
    synthetic_child: pd.DataFrame,
    synthetic_parent: pd.DataFrame,
    training_child: pd.DataFrame,
    training_parent: pd.DataFrame,
    holdout_child: pd.DataFrame | None = None,
    holdout_parent: pd.DataFrame | None = None,
    *,
    foreign_key: str,
    primary_key: str,
    referenced_table: str | None = None,
    max_sample_size: int | None = DEFAULT_MAX_RELATION_SAMPLE_SIZE,
    random_state: int = 0,
) -> RelationAccuracy:
    """Bivariate accuracy of every (child column, parent column) pair across `foreign_key`.

    All columns except `foreign_key` (child) and `primary_key` (parent) are scored, so drop other key
    columns first. The holdout reference joins `holdout_child` with `holdout_parent`, or with
    `training_parent` when that is None (pass the whole real parent table as `training_parent` when
    holdout children may reference training parents). Up to `max_sample_size` joined rows per dataset
    are used, synthetic and holdout at a common size, as for `assess`.
    """
    children: dict[FrameName, pd.DataFrame] = {"synthetic": synthetic_child, "training": training_child}
    parents: dict[FrameName, pd.DataFrame] = {"synthetic": synthetic_parent, "training": training_parent}
    if holdout_child is not None:
        children["holdout"] = holdout_child
        parents["holdout"] = training_parent if holdout_parent is None else holdout_parent
    for name in children:
        _require_columns(_check_frame(children[name], f"{name}_child"), [foreign_key], f"{name}_child")
        _require_columns(_check_frame(parents[name], f"{name}_parent"), [primary_key], f"{name}_parent")
    child_columns = [str(c) for c in training_child.columns if c != foreign_key]
    parent_columns = [str(c) for c in training_parent.columns if c != primary_key]
    for name in children:
        _require_columns(children[name], child_columns, f"{name}_child")
        _require_columns(parents[name], parent_columns, f"{name}_parent")

    joined: dict[FrameName, pd.DataFrame] = {
        name: join_parent(
            children[name],
            parents[name],
            foreign_key=foreign_key,
            primary_key=primary_key,
            child_columns=child_columns,
            parent_columns=parent_columns,
        )
        for name in children
    }
    result = RelationAccuracy(
        foreign_key=foreign_key,
        referenced_table=referenced_table,
        n_pairs=len(child_columns) * len(parent_columns),
        referential_integrity=referential_integrity(
            synthetic_child[foreign_key], synthetic_parent[primary_key]
        ),
        synthetic_joined_rows=len(joined["synthetic"]),
        training_joined_rows=len(joined["training"]),
        holdout_joined_rows=len(joined["holdout"]) if "holdout" in joined else None,
    )
    if result.n_pairs == 0 or len(joined["training"]) == 0:
        return result  # nothing to pair, or no real relation to compare with

    kinds: dict[str, ColumnKind] = {c: column_kind(training_child[c]) for c in child_columns}
    kinds |= {PARENT_PREFIX + c: column_kind(training_parent[c]) for c in parent_columns}
    frames = {name: df for name, df in joined.items() if len(df)}
    if max_sample_size is not None:
        frames = {n: sample_records(df, None, max_sample_size, random_state) for n, df in frames.items()}
    prep = Prepared(
        target_columns=child_columns,
        context_columns=[PARENT_PREFIX + c for c in parent_columns],
        kinds=kinds,
        frames={n: df.reset_index(drop=True) for n, df in frames.items()},
        groups={n: None for n in frames},
    )
    binning = fit_binning(prep.columns, kinds, prep.frames["training"], prep.frames.get("holdout"))
    if "synthetic" in prep.frames and "holdout" in prep.frames:
        # The holdout reference is only fair at the same sample size as the synthetic data.
        prep = equal_size(prep, ["synthetic", "holdout"], random_state)
    codes = {n: binning.codes(df) for n, df in prep.frames.items()}
    sizes = np.array([binning.columns[c].n_codes for c in prep.columns], dtype=np.int64)
    # An empty synthetic join shares nothing with training: accuracy 0, as for coherence.
    syn = codes.get("synthetic", np.zeros((0, len(prep.columns)), dtype=np.int64))
    pairs = acc.cross_pairs(
        codes["training"], syn, codes.get("holdout"), prep.columns, sizes, len(child_columns)
    )
    bivariate, bivariate_max = acc.mean_accuracy(pairs)
    result.bivariate = bivariate if len(syn) else 0.0
    result.bivariate_max = bivariate_max
    return result


__all__ = ["RelationAccuracy", "join_parent", "referential_integrity", "relation_accuracy"]
