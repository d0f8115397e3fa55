"""Constraints as reversible column transforms, so that they hold for every generated row.

- FixedCombinations: its columns become one categorical column over the combinations seen in
  training, so no other combination can be drawn.
- Inequality (low <= high): the high column is learned as the non-negative gap high - low, and
  rebuilt as low + gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_dagster.engine.analysis import ColumnPlan, detect
from synth_dagster.engine.errors import EngineInputError

COMBO_PREFIX = "__combo__"
GAP_PREFIX = "__gap__"


def _constraint_parts(constraint: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = str(constraint.get("type", "")).split(".")[-1]
    config = dict(constraint.get("config") or {})
    return kind, config


def constraint_columns(constraint: Mapping[str, Any]) -> list[Any] | None:
    """The columns a constraint names (an Inequality: low, then high); None for an unknown type."""
    kind, config = _constraint_parts(constraint)
    if kind == "FixedCombinations":
        return list(config.get("columns") or [])
    if kind == "Inequality":
        return [
            config.get("low_column") or config.get("lowColumn"),
            config.get("high_column") or config.get("highColumn"),
        ]
    return None


@dataclass
class FixedCombinations:
    columns: list[str]
    combos: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return COMBO_PREFIX + "|".join(self.columns)

    def lookup(self, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """(row, combo) pairs where the combination matches the row on `columns`."""
        assert self.combos is not None
        left = frame[list(columns)].reset_index(drop=True).assign(__row=np.arange(len(frame)))
        right = self.combos.reset_index(names="__combo")
        for c in columns:
            if left[c].dtype != right[c].dtype:
                left[c], right[c] = left[c].astype(object), right[c].astype(object)
        return left.merge(right[["__combo", *columns]], on=list(columns), how="inner")


@dataclass
class Inequality:
    low: str
    high: str
    kind: str = "numeric"  # numeric | datetime | datetime_string
    high_dtype: str = "float64"
    high_format: str | None = None
    low_format: str | None = None

    @property
    def name(self) -> str:
        return GAP_PREFIX + self.high


class TableTransforms:
    def __init__(self, combos: list[FixedCombinations], inequalities: list[Inequality]):
        self.combos = combos
        self.inequalities = inequalities

    @classmethod
    def fit(cls, frame: pd.DataFrame, constraints: Sequence[Mapping[str, Any]]) -> TableTransforms:
        combos: list[FixedCombinations] = []
        inequalities: list[Inequality] = []
        used: dict[str, int] = {}
        for i, constraint in enumerate(constraints):
            kind, _ = _constraint_parts(constraint)
            columns = constraint_columns(constraint)
            if columns is None:
                raise EngineInputError(
                    f"constraint {i}: unknown type {constraint.get('type')!r}; use FixedCombinations or Inequality"
                )
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise EngineInputError(
                    f"constraint {i} ({kind}) names columns the table does not have: {missing}; its columns are {list(frame.columns)}"
                )
            for c in columns:
                if c in used:
                    raise EngineInputError(
                        f"column {c!r} is used by constraints {used[c]} and {i}; a column may take part in one constraint only"
                    )
                used[c] = i
            if kind == "FixedCombinations":
                if len(columns) < 2:
                    raise EngineInputError(
                        f"constraint {i}: FixedCombinations needs at least two columns, got {columns}"
                    )
                combos.append(
                    FixedCombinations(columns, frame[columns].drop_duplicates().reset_index(drop=True))
                )
            else:
                inequalities.append(_fit_inequality(frame, columns[0], columns[1], i))
        return cls(combos, inequalities)

    # ---------------------------------------------------------------- mapping
    def forward(self, frame: pd.DataFrame, partial: bool = False) -> pd.DataFrame:
        """Source columns -> model columns. With partial (seeds), only what the frame holds is mapped."""
        out = frame.copy()
        for ineq in self.inequalities:
            if ineq.high in out.columns:
                if ineq.low not in out.columns:
                    raise EngineInputError(
                        f"column {ineq.high!r} is the high side of an Inequality constraint; seed it together with {ineq.low!r}"
                    )
                out[ineq.high] = _gap(out[ineq.low], out[ineq.high], ineq)
                out = out.rename(columns={ineq.high: ineq.name})
        for combo in self.combos:
            present = [c for c in combo.columns if c in out.columns]
            if not present:
                continue
            if len(present) == len(combo.columns):
                pairs = combo.lookup(out, combo.columns).drop_duplicates("__row")
                index = pd.Series(np.nan, index=range(len(out)), dtype="float64")
                index[pairs["__row"].to_numpy()] = pairs["__combo"].to_numpy()
                position = out.columns.get_loc(combo.columns[0])
                values = index.astype("Int64").to_numpy()
                out = out.drop(columns=combo.columns)
                out.insert(position, combo.name, values)
            elif not partial:
                raise AssertionError("unreachable: training frames hold every column")
        return out

    def inverse(self, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        out = frame.copy()
        for combo in self.combos:
            if combo.name not in out.columns:
                continue
            assert combo.combos is not None
            idx = pd.to_numeric(out[combo.name]).to_numpy()
            idx = np.where(np.isnan(idx.astype(float)), 0, idx).astype(int)
            values = combo.combos.iloc[idx].reset_index(drop=True)
            position = out.columns.get_loc(combo.name)
            out = out.drop(columns=[combo.name])
            for k, c in enumerate(combo.columns):
                out.insert(position + k, c, values[c].to_numpy())
                out[c] = out[c].astype(values[c].dtype)
        for ineq in self.inequalities:
            if ineq.name in out.columns:
                out[ineq.name] = _add_gap(out[ineq.low], out[ineq.name], ineq)
                out = out.rename(columns={ineq.name: ineq.high})
        return out

    def encoding_type(self, model_column: str, requested: str) -> str:
        if model_column.startswith(COMBO_PREFIX):
            return "TABULAR_CATEGORICAL"
        if model_column.startswith(GAP_PREFIX):
            return "TABULAR_NUMERIC_AUTO"
        return requested

    def rare_method(self, model_column: str, requested: str) -> str:
        # A rare combination must never come out as a constant token; draw a seen one instead.
        return "SAMPLE" if model_column.startswith(COMBO_PREFIX) else requested

    def model_column(self, source_column: str) -> str:
        for combo in self.combos:
            if source_column in combo.columns:
                return combo.name
        for ineq in self.inequalities:
            if source_column == ineq.high:
                return ineq.name
        return source_column

    def source_of(self, model_column: str) -> set[str]:
        for combo in self.combos:
            if combo.name == model_column:
                return set(combo.columns)
        for ineq in self.inequalities:
            if ineq.name == model_column:
                return {ineq.high}
        return {model_column}

    def model_columns_of(self, source_column: str, model_columns: list[str]) -> list[int]:
        name = self.model_column(source_column)
        return [i for i, c in enumerate(model_columns) if c == name]

    def row_masks(
        self,
        seed: pd.DataFrame,
        plans: Sequence[ColumnPlan],
        sub_ranges: Sequence[tuple[int, int]],
        allowed: Sequence[np.ndarray],
        n: int,
    ) -> dict[int, np.ndarray]:
        """For combinations seeded on some of their columns: only the matching combinations may be
        drawn. `plans` are the model's columns, `sub_ranges` their sub-columns, `allowed` the codes
        each sub-column may take."""
        masks: dict[int, np.ndarray] = {}
        for combo in self.combos:
            present = [c for c in combo.columns if c in seed.columns]
            if not present or len(present) == len(combo.columns):
                continue
            plan_index = [p.name for p in plans].index(combo.name)
            plan = plans[plan_index]
            lo, _ = sub_ranges[plan_index]
            code_of = {int(c): 2 + k for k, c in enumerate(plan.stats["categories"])}
            mask = np.zeros((n, 2 + len(code_of)), dtype=bool)
            pairs = combo.lookup(seed, present)
            codes = pairs["__combo"].map(code_of)
            ok = codes.notna().to_numpy()
            mask[pairs["__row"].to_numpy()[ok], codes[ok].astype(int).to_numpy()] = True
            mask[~mask.any(1)] = allowed[lo]  # no seen combination fits: fall back to all
            masks[lo] = mask & allowed[lo]
            masks[lo][~masks[lo].any(1)] = allowed[lo]
        return masks

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "combos": [c.columns for c in self.combos],
            # Parquet reads strings back as pandas' string dtype; the combinations keep the frame's
            "combo_dtypes": [
                {col: str(dtype) for col, dtype in c.combos.dtypes.items()}
                for c in self.combos
                if c.combos is not None
            ],
            "inequalities": [vars(i).copy() for i in self.inequalities],
        }

    def save(self, directory: Path) -> None:
        # Parquet, never a pickle: a workspace may come from an imported ZIP, and unpickling runs code
        for k, combo in enumerate(self.combos):
            assert combo.combos is not None
            try:
                combo.combos.to_parquet(directory / f"combinations_{k}.parquet", index=False)
            except Exception as exc:  # pyarrow raises several types for values it cannot store
                raise EngineInputError(
                    f"the FixedCombinations columns {combo.columns} cannot be stored ({exc}); give each "
                    "of them values of one type, e.g. df[column] = df[column].astype(str)"
                ) from exc

    @classmethod
    def load(cls, data: dict[str, Any], directory: Path) -> TableTransforms:
        combos = []
        for k, columns in enumerate(data["combos"]):
            path = directory / f"combinations_{k}.parquet"
            if not path.exists():
                raise EngineInputError(
                    f"the FixedCombinations constraint on {columns} was saved by an older version as a "
                    "pickle, which is never loaded (it could run code); train the generator again"
                )
            values = pd.read_parquet(path)
            for column, dtype in (data.get("combo_dtypes") or [{}] * (k + 1))[k].items():
                if str(values[column].dtype) != dtype:
                    values[column] = values[column].astype(dtype)
            combos.append(FixedCombinations(columns, values))
        return cls(combos, [Inequality(**i) for i in data["inequalities"]])


def _fit_inequality(frame: pd.DataFrame, low: str, high: str, i: int) -> Inequality:
    if low == high:
        raise EngineInputError(f"constraint {i}: Inequality needs two different columns, got {low!r} twice")
    lo_s, hi_s = frame[low], frame[high]
    if ptypes.is_numeric_dtype(lo_s.dtype) and ptypes.is_numeric_dtype(hi_s.dtype):
        return Inequality(low, high, "numeric", str(hi_s.dtype))
    if ptypes.is_datetime64_any_dtype(lo_s.dtype) and ptypes.is_datetime64_any_dtype(hi_s.dtype):
        return Inequality(low, high, "datetime", str(hi_s.dtype))
    _, lo_kind, lo_extra = detect(lo_s)
    _, hi_kind, hi_extra = detect(hi_s)
    if lo_kind == hi_kind == "datetime_string":
        return Inequality(
            low,
            high,
            "datetime_string",
            str(hi_s.dtype),
            hi_extra["datetime_format"],
            lo_extra["datetime_format"],
        )
    raise EngineInputError(
        f"constraint {i}: Inequality needs two numeric or two datetime columns; {low!r} is {lo_s.dtype} and {high!r} is {hi_s.dtype}"
    )


def _as_datetime(values: pd.Series, fmt: str | None) -> pd.Series:
    return (
        pd.to_datetime(values, format=fmt, errors="coerce")
        if fmt
        else pd.to_datetime(values, errors="coerce")
    )


def _gap(low: pd.Series, high: pd.Series, ineq: Inequality) -> pd.Series:
    if ineq.kind == "numeric":
        return (pd.to_numeric(high) - pd.to_numeric(low)).astype("float64")
    lo = _as_datetime(low, ineq.low_format)
    hi = _as_datetime(high, ineq.high_format)
    return (hi - lo).dt.total_seconds()


def _add_gap(low: pd.Series, gap: pd.Series, ineq: Inequality) -> pd.Series:
    g = pd.to_numeric(gap).astype("float64").clip(lower=0)
    if ineq.kind == "numeric":
        high = pd.to_numeric(low).astype("float64") + g
        if ptypes.is_integer_dtype(
            np.dtype(ineq.high_dtype) if not ineq.high_dtype[0].isupper() else "int64"
        ):
            high = high.round()
        try:
            return high.astype(ineq.high_dtype)
        except (TypeError, ValueError):
            return high.astype("Int64") if high.isna().any() else high
    lo = _as_datetime(low, ineq.low_format)
    high = lo + pd.to_timedelta(g.to_numpy(), unit="s")
    if ineq.kind == "datetime_string":
        return high.dt.strftime(ineq.high_format).astype(object).where(high.notna(), None)
    return high.astype(ineq.high_dtype)
