"""TABULAR_NUMERIC_*: numbers as exact values, as two-level quantile bins, or digit by digit.

- DISCRETE: one sub-column over the non-rare values (0 = null, 1 = rare, 2.. = values).
- BINNED: a coarse quantile bin, then a fine group inside it. Groups are built over the sorted distinct
  values, so a value that carries a lot of mass keeps its own group and comes back exactly; inside a
  group of several values, a value is drawn uniformly between its smallest and largest member.
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


def quantile_groups(counts: np.ndarray, n_groups: int) -> np.ndarray:
    """Group consecutive distinct values into about n_groups groups of similar mass.

    A value heavy enough to fill a group on its own always gets its own group, so that point masses
    (e.g. a price of exactly 1000) come back exactly instead of being smeared over their neighbours.
    """
    target = counts.sum() / n_groups
    ids = np.empty(len(counts), dtype=np.int64)
    group, filled = 0, 0.0
    for i, c in enumerate(counts):
        heavy = c >= target
        if filled > 0 and (heavy or filled + c / 2 > target):
            group, filled = group + 1, 0.0
        ids[i] = group
        filled += c
        if heavy:
            filled = target  # close the group behind a point mass
    return ids


def _binned_stats(v: np.ndarray) -> dict[str, Any]:
    u, c = np.unique(v, return_counts=True)
    coarse = quantile_groups(c, COARSE_BINS)
    group_lo: list[float] = []
    group_hi: list[float] = []
    offsets: list[int] = []
    n_fine: list[int] = []
    for k in range(int(coarse.max()) + 1):
        uu, cc = u[coarse == k], c[coarse == k]
        fine = quantile_groups(cc, FINE_BINS)
        offsets.append(len(group_lo))
        n_fine.append(int(fine.max()) + 1)
        for f in range(int(fine.max()) + 1):
            members = uu[fine == f]
            group_lo.append(float(members[0]))
            group_hi.append(float(members[-1]))
    return {"group_lo": group_lo, "group_hi": group_hi, "offsets": offsets, "n_fine": n_fine}


class NumericEncoder:
    def analyze(self, values: pd.Series, *, protect: bool, options: dict[str, Any]) -> dict[str, Any]:
        v = as_float(values)
        subjects = options.get(SUBJECTS)
        present = v[~np.isnan(v)]
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
            stats.update(_binned_stats(clipped if len(clipped) else np.array([0.0])))
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
            lo = np.asarray(stats["group_lo"])[group]
            hi = np.asarray(stats["group_hi"])[group]
            out = lo + rng.random(len(group)) * (hi - lo)
        else:
            n = stats["n_digits"]
            digits = codes.copy()
            digits[:, 0] = np.maximum(digits[:, 0] - 1, 0)
            m = sum(digits[:, i].astype(np.int64) * 10 ** (n - 1 - i) for i in range(n))
            out = stats["lo"] + m / 10 ** stats["precision"]
        out = np.clip(np.round(out, stats["precision"]), stats["lo"], stats["hi"])
        out[null] = np.nan
        return pd.Series(out)
