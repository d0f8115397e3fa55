"""Input checks, column typing, sampling and the context join shared by every metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

ColumnKind = Literal["numeric", "datetime", "categorical"]
FrameName = Literal["synthetic", "training", "holdout"]
CONTEXT_PREFIX = "context::"


@dataclass(frozen=True)
class Context:
    """Context (subject) tables for the three datasets, linked to the target by `primary_key`."""

    synthetic: pd.DataFrame
    training: pd.DataFrame
    holdout: pd.DataFrame | None = None
    primary_key: str = "id"

    def frame(self, name: FrameName) -> pd.DataFrame | None:
        return getattr(self, name)


@dataclass
class Prepared:
    """The (sampled) frames as the metrics see them.

    Rows of one group are contiguous and keep their order; context columns are joined onto each
    target row under `CONTEXT_PREFIX + name`.
    """

    target_columns: list[str]
    context_columns: list[str]
    kinds: dict[str, ColumnKind]
    frames: dict[FrameName, pd.DataFrame]
    groups: dict[FrameName, np.ndarray | None]
    original_sizes: dict[FrameName, int] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return self.target_columns + self.context_columns

    @property
    def is_sequential(self) -> bool:
        return self.groups["training"] is not None

    def has(self, name: FrameName) -> bool:
        return name in self.frames

    def n_records(self, name: FrameName) -> int:
        g = self.groups[name]
        return len(self.frames[name]) if g is None else len(np.unique(g))


def column_kind(series: pd.Series) -> ColumnKind:
    """Kind of a column as decided by its training dtype."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "numeric"
    return "categorical"


def numeric_values(series: pd.Series, kind: ColumnKind) -> np.ndarray:
    """float64 values (NaN for missing); datetimes as nanoseconds since the epoch."""
    if kind == "datetime":
        dt = pd.to_datetime(series, errors="coerce")
        if getattr(dt.dt, "tz", None) is not None:
            dt = dt.dt.tz_convert(None)
        ns = dt.astype("datetime64[ns]")
        out = ns.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        out[ns.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def category_values(series: pd.Series) -> np.ndarray:
    """Object array of strings, None for missing: one spelling per value across all frames."""
    na = series.isna().to_numpy()
    out = series.astype(object).to_numpy().astype(str).astype(object)
    out[na] = None
    return out


def sample_positions(n: int, size: int, random_state: int) -> np.ndarray:
    """Sorted positions of a sample without replacement.

    A fresh generator per call: two frames of equal length get the same positions, so a
    synthetic frame that copies the training frame is still compared row for row.
    """
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


def sample_records(df: pd.DataFrame, group_key: str | None, size: int, random_state: int) -> pd.DataFrame:
    """Sample `size` records: rows for flat data, whole groups for sequences."""
    if group_key is None:
        return df.iloc[sample_positions(len(df), size, random_state)]
    keys = pd.unique(df[group_key])
    chosen = keys[sample_positions(len(keys), size, random_state)]
    return df[df[group_key].isin(chosen)]


def _check_frame(df: object, what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}.")
    if len(df) == 0:
        raise ValueError(f"{what} has no rows; metrics need at least one record in each dataset.")
    if not df.columns.is_unique:
        dupes = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ValueError(f"{what} has duplicate column names {dupes}; rename them before evaluating.")
    return df


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} lacks the column(s) {missing} that the training data has; "
            "pass frames with the same columns (extra columns are ignored)."
        )


def _group_codes(df: pd.DataFrame, group_key: str) -> np.ndarray:
    # Integer group ids in order of first appearance; NaN keys form one group of their own.
    codes, _ = pd.factorize(df[group_key], use_na_sentinel=False)
    return codes.astype(np.int64)


def prepare(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame | None,
    *,
    context: Context | None,
    context_key: str | None,
    group_key: str | None,
    max_sample_size: int | None,
    random_state: int,
) -> Prepared:
    """Validate inputs, sample them and join the context onto the target rows."""
    frames_in: dict[FrameName, pd.DataFrame] = {
        "synthetic": _check_frame(synthetic, "synthetic"),
        "training": _check_frame(training, "training"),
    }
    if holdout is not None:
        frames_in["holdout"] = _check_frame(holdout, "holdout")
    if context is not None and context_key is None:
        raise ValueError("context is given but context_key is not: name the target column that refers to it.")
    if context_key is not None and context is None:
        raise ValueError(
            "context_key is given but context is not: pass Context(synthetic=..., training=...)."
        )
    # The foreign key to the context also groups a sequence unless told otherwise.
    group_key = group_key if group_key is not None else context_key
    keys = [k for k in (group_key, context_key) if k is not None]
    for name, df in frames_in.items():
        _require_columns(df, keys, name)

    target_columns = [str(c) for c in training.columns if c not in keys]
    if not target_columns and context is None:
        raise ValueError("training has no columns to evaluate besides its key column(s).")
    for name, df in frames_in.items():
        _require_columns(df, target_columns, name)
    kinds: dict[str, ColumnKind] = {c: column_kind(training[c]) for c in target_columns}

    context_columns: list[str] = []
    if context is not None:
        assert context_key is not None
        ctx_trn = _check_frame(context.training, "context.training")
        ctx_cols = [str(c) for c in ctx_trn.columns if c != context.primary_key]
        for name in frames_in:
            ctx = context.frame(name)
            if ctx is None:
                raise ValueError(f"{name} data is given but context.{name} is not; pass both or neither.")
            _check_frame(ctx, f"context.{name}")
            _require_columns(ctx, [context.primary_key, *ctx_cols], f"context.{name}")
        context_columns = [CONTEXT_PREFIX + c for c in ctx_cols]
        kinds.update({CONTEXT_PREFIX + c: column_kind(ctx_trn[c]) for c in ctx_cols})

    frames: dict[FrameName, pd.DataFrame] = {}
    groups: dict[FrameName, np.ndarray | None] = {}
    sizes: dict[FrameName, int] = {}
    for name, df in frames_in.items():
        n_records = len(df) if group_key is None else df[group_key].nunique(dropna=False)
        sizes[name] = int(n_records)
        if max_sample_size is not None:
            df = sample_records(df, group_key, max_sample_size, random_state)
        out = df[target_columns].reset_index(drop=True)
        if context is not None:
            ctx = context.frame(name)
            assert ctx is not None and context_key is not None
            ctx = ctx.drop_duplicates(subset=[context.primary_key]).set_index(context.primary_key)
            joined = ctx.reindex(df[context_key].to_numpy())[
                [c[len(CONTEXT_PREFIX) :] for c in context_columns]
            ]
            joined.columns = context_columns
            out = pd.concat([out, joined.reset_index(drop=True)], axis=1)
        if group_key is not None:
            codes = _group_codes(df, group_key)
            order = np.argsort(codes, kind="stable")  # groups contiguous, order within kept
            out = out.iloc[order].reset_index(drop=True)
            groups[name] = codes[order]
        else:
            groups[name] = None
        frames[name] = out
    return Prepared(
        target_columns=target_columns,
        context_columns=context_columns,
        kinds=kinds,
        frames=frames,
        groups=groups,
        original_sizes=sizes,
    )


def equal_size(
    prep: Prepared, names: Sequence[FrameName], random_state: int, cap: int | None = None
) -> Prepared:
    """A view of `prep` with the named frames sampled down to a common number of records."""
    size = min(prep.n_records(n) for n in names)
    if cap is not None:
        size = min(size, cap)
    frames = dict(prep.frames)
    groups = dict(prep.groups)
    for name in names:
        frames[name], groups[name] = _take_records(prep.frames[name], prep.groups[name], size, random_state)
    return Prepared(
        target_columns=prep.target_columns,
        context_columns=prep.context_columns,
        kinds=prep.kinds,
        frames=frames,
        groups=groups,
        original_sizes=prep.original_sizes,
    )


def _take_records(
    df: pd.DataFrame, groups: np.ndarray | None, size: int, random_state: int
) -> tuple[pd.DataFrame, np.ndarray | None]:
    if groups is None:
        pos = sample_positions(len(df), size, random_state)
        return df.iloc[pos].reset_index(drop=True), None
    uniq = np.unique(groups)
    chosen = uniq[sample_positions(len(uniq), size, random_state)]
    mask = np.isin(groups, chosen)
    return df[mask].reset_index(drop=True), groups[mask]
