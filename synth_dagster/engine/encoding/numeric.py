"""TABULAR_NUMERIC_*: numbers as exact values, as two-level quantile bins, or digit by digit.

- DISCRETE: one sub-column over the non-rare values (0 = null, 1 = rare, 2.. = values).
- BINNED: a coarse quantile bin, then a fine group inside it. Groups are built over the sorted distinct
  values, so a value that carries a lot of mass keeps its own group and comes back exactly; inside a
  group of several values, a value is drawn uniformly between its smallest and largest member, or,
  under value protection, as `encoding.groups` describes (no value of fewer than RARE_THRESHOLD
  records comes back more often than chance).
- DIGIT: the value minus the protected minimum, scaled to an integer, one sub-column per digit.
- AUTO: DISCRETE for few distinct values, BINNED otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import (
    RARE_THRESHOLD,
    SUBJECTS,
    SubColumnSpec,
    occurrences,
    protected_bounds,
    to_python,
)
from synth_dagster.engine.encoding.groups import (
    SNAP_SHARE,
    GroupRule,
    draw_in_groups,
    protected_members,
    quantile_groups,
    subjects_by_value,
)
from synth_dagster.engine.encoding.private import DP_BUDGET, dp_bounds

NULL_CODE = 0
RARE_CODE = 1
DISCRETE_MAX_VALUES = 100
COARSE_BINS = 50
FINE_BINS = 50
MAX_DIGITS = 18


def as_float(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def decimal_precision(v: np.ndarray, max_decimals: int = 8) -> int:
    """Smallest number of decimals that represents every value (on a sample)."""
    sample = v[:20_000]
    for d in range(max_decimals + 1):
        if np.all(np.abs(np.round(sample, d) - sample) <= 1e-9 * np.maximum(1.0, np.abs(sample))):
            return d
    return max_decimals


def _binned_stats(v: np.ndarray, held: pd.Series | None, subjects: np.ndarray | None) -> dict[str, Any]:
    """Coarse quantile bins, each cut into fine groups of the (clipped) values `v`. With `held`
    (value protection: the records or subjects that hold each value before clipping, so that a
    range end standing in for the extremes is not frequent by their count), groups follow
    `GroupRule`."""
    u, c = np.unique(v, return_counts=True)
    rule, extra = None, {}
    if held is not None:
        frequent = held.reindex(u).fillna(0).to_numpy() >= RARE_THRESHOLD
        snap = bool(c[frequent].sum() >= SNAP_SHARE * c.sum())
        rule = GroupRule(c, frequent, snap, subjects_by_value(v, subjects, u))
        extra = {"snap": snap}
    coarse = quantile_groups(c, COARSE_BINS, rule)
    group_lo: list[float] = []
    group_hi: list[float] = []
    offsets: list[int] = []
    n_fine: list[int] = []
    group_of = np.empty(len(u), dtype=np.int64)
    for k in range(int(coarse.max()) + 1):
        inside = np.flatnonzero(coarse == k)
        sub_rule = (
            None
            if rule is None
            else GroupRule(c[inside], rule.frequent[inside], rule.snap, _take(rule, inside))
        )
        fine = quantile_groups(c[inside], FINE_BINS, sub_rule)
        offsets.append(len(group_lo))
        n_fine.append(int(fine.max()) + 1)
        group_of[inside] = len(group_lo) + fine
        for f in range(int(fine.max()) + 1):
            members = u[inside][fine == f]
            group_lo.append(float(members[0]))
            group_hi.append(float(members[-1]))
    stats = {"group_lo": group_lo, "group_hi": group_hi, "offsets": offsets, "n_fine": n_fine}
    if rule is not None:
        stats |= extra | protected_members(u, c, rule.frequent, group_of, len(group_lo))
    return stats


def _take(rule: GroupRule, inside: np.ndarray) -> list[Any] | None:
    return None if rule.subjects_of is None else [rule.subjects_of[i] for i in inside]


class NumericEncoder:
    def analyze(self, values: pd.Series, *, protect: bool, options: dict[str, Any]) -> dict[str, Any]:
        v = as_float(values)
        subjects = options.get(SUBJECTS)
        present = v[~np.isnan(v)]
        if protect and DP_BUDGET in options:
            lo, hi = dp_bounds(v, subjects, options[DP_BUDGET])
        else:
            lo, hi = protected_bounds(v, protect, subjects)
        precision = decimal_precision(present)
        kind = options.get("encoding_type", "TABULAR_NUMERIC_AUTO").removeprefix("TABULAR_NUMERIC_")
        u, c = np.unique(present, return_counts=True)
        # how many rows (or, in a sequence table, subjects) hold each distinct value
        holders = occurrences(pd.Series(v), subjects).reindex(u).fillna(0).to_numpy() if protect else c
        if kind == "AUTO":
            # under value protection, few distinct values that are mostly rare (a small table)
            # would leave a discrete encoding next to nothing to draw: bin them instead
            frequent = c[holders >= RARE_THRESHOLD].sum() / max(c.sum(), 1) if protect else 1.0
            kind = "DISCRETE" if len(u) <= DISCRETE_MAX_VALUES and frequent >= 0.9 else "BINNED"
        stats: dict[str, Any] = {"kind": kind, "lo": lo, "hi": hi, "precision": precision}
        clipped = np.clip(present, lo, hi)
        if kind == "DISCRETE":
            keep = holders >= RARE_THRESHOLD if protect else np.ones(len(u), bool)
            stats["values"] = [to_python(x) for x in u[keep]]
            stats["counts"] = [int(x) for x in c[keep]]
        elif kind == "BINNED":
            present_subjects = None if subjects is None else np.asarray(subjects)[~np.isnan(v)]
            if not len(clipped):
                clipped, present_subjects = np.array([0.0]), None
            held = pd.Series(holders, index=u) if protect else None
            stats.update(_binned_stats(clipped, held, present_subjects))
        elif kind == "DIGIT":
            top = int(np.round((hi - lo) * 10**precision)) if len(present) else 0
            stats["n_digits"] = min(max(len(str(top)), 1), MAX_DIGITS)
        else:
            raise ValueError(f"unknown numeric encoding {kind!r}")
        return stats

    def sub_columns(self, stats: dict[str, Any]) -> list[SubColumnSpec]:
        kind = stats["kind"]
        if kind == "DISCRETE":
            return [SubColumnSpec("value", 2 + len(stats["values"]))]
        if kind == "BINNED":
            return [
                SubColumnSpec("bin", 1 + len(stats["offsets"])),
                SubColumnSpec("fine", max(stats["n_fine"])),
            ]
        return [SubColumnSpec("d0", 11)] + [SubColumnSpec(f"d{i}", 10) for i in range(1, stats["n_digits"])]

    def encode(self, values: pd.Series, stats: dict[str, Any]) -> np.ndarray:
        v = as_float(values)
        null = np.isnan(v)
        kind = stats["kind"]
        if kind == "DISCRETE":
            known = np.asarray(stats["values"], dtype=float)
            idx = np.searchsorted(known, v)
            idx_c = np.minimum(idx, max(len(known) - 1, 0))
            hit = (len(known) > 0) & (known[idx_c] == v) if len(known) else np.zeros(len(v), bool)
            codes = np.where(hit, idx_c + 2, RARE_CODE)
            codes[null] = NULL_CODE
            return codes.astype(np.int64)[:, None]
        vc = np.clip(np.nan_to_num(v, nan=stats["lo"]), stats["lo"], stats["hi"])
        if kind == "BINNED":
            lo = np.asarray(stats["group_lo"])
            group = np.clip(np.searchsorted(lo, vc, side="right") - 1, 0, len(lo) - 1)
            offsets = np.asarray(stats["offsets"])
            coarse = np.searchsorted(offsets, group, side="right") - 1
            fine = group - offsets[coarse]
            coarse_code = np.where(null, NULL_CODE, coarse + 1)
            return np.stack([coarse_code, np.where(null, 0, fine)], axis=1).astype(np.int64)
        m = np.round((vc - stats["lo"]) * 10 ** stats["precision"]).astype(np.int64)
        n = stats["n_digits"]
        digits = np.stack([(m // 10 ** (n - 1 - i)) % 10 for i in range(n)], axis=1)
        digits[:, 0] += 1
        digits[null] = 0
        return digits.astype(np.int64)

    def decode(self, codes: np.ndarray, stats: dict[str, Any], rng: np.random.Generator) -> pd.Series:
        kind = stats["kind"]
        if kind == "DISCRETE":
            known = np.asarray(stats["values"], dtype=float)
            code = codes[:, 0]
            out = np.full(len(code), np.nan)
            valid = code >= 2
            out[valid] = known[np.minimum(code[valid] - 2, len(known) - 1)]
            rare = code == RARE_CODE
            if rare.any() and len(known):
                p = np.asarray(stats["counts"], float)
                out[rare] = known[rng.choice(len(known), size=int(rare.sum()), p=p / p.sum())]
            return pd.Series(out)
        null = codes[:, 0] == NULL_CODE
        if kind == "BINNED":
            offsets = np.asarray(stats["offsets"])
            n_fine = np.asarray(stats["n_fine"])
            coarse = np.clip(codes[:, 0] - 1, 0, len(offsets) - 1)
            fine = np.minimum(codes[:, 1], n_fine[coarse] - 1)
            group = offsets[coarse] + fine
            out = draw_in_groups(group, stats, rng)  # on the precision grid, or an exact member
        else:
            n = stats["n_digits"]
            digits = codes.copy()
            digits[:, 0] = np.maximum(digits[:, 0] - 1, 0)
            m = sum(digits[:, i].astype(np.int64) * 10 ** (n - 1 - i) for i in range(n))
            out = np.round(stats["lo"] + m / 10 ** stats["precision"], stats["precision"])
        out = np.clip(out, stats["lo"], stats["hi"])
        out[null] = np.nan
        return pd.Series(out)
