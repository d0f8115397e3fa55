"""Groups of a number's consecutive distinct values (TABULAR_NUMERIC_BINNED), and value protection
inside them.

Without protection a group is drawn from uniformly between its smallest and largest member. With
protection, every group holds at least RARE_THRESHOLD records (or subjects), and a value comes back
exactly only when that many records hold it: frequent members are drawn by their counts, and the
mass of rare members goes either to a uniform value on the column's precision grid inside the group
(few values repeat, e.g. prices of a small table) or, when most records hold a frequent value
(`snap`, e.g. coordinates of a finite set of places), to the group's frequent members, so that
generated values stay on values real records hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import RARE_THRESHOLD

# Share of records holding a frequent value from which a column counts as repetitive (`snap`): its
# values come back only as values that RARE_THRESHOLD records hold. Below it (e.g. prices, of which
# half the records hold a price that few others hold) rare mass is drawn uniformly.
SNAP_SHARE = 0.8
# Grid draws beyond this many steps of the precision grid fall back to rounding a float draw.
MAX_GRID = 2**52


class GroupRule:
    """When a run of consecutive distinct values may close as a group under value protection:
    once it holds RARE_THRESHOLD records (or subjects), and, for a repetitive column, once it holds
    a frequent value (so that its rare members' mass has somewhere to go)."""

    def __init__(self, counts: np.ndarray, frequent: np.ndarray, snap: bool, subjects_of: list[Any] | None):
        self.counts, self.frequent, self.snap, self.subjects_of = counts, frequent, snap, subjects_of
        self.start()

    def start(self) -> None:
        self.held, self.has_frequent, self.subjects = 0, False, set()

    def add(self, i: int) -> None:
        self.has_frequent |= bool(self.frequent[i])
        if self.subjects_of is None:
            self.held += int(self.counts[i])
        else:
            self.subjects.update(self.subjects_of[i])
            self.held = len(self.subjects)

    @property
    def ready(self) -> bool:
        return self.has_frequent if self.snap else self.held >= RARE_THRESHOLD

    def own(self, i: int) -> bool:
        """Whether value i may fill a group on its own."""
        return bool(self.frequent[i])


def quantile_groups(counts: np.ndarray, n_groups: int, rule: GroupRule | None = None) -> np.ndarray:
    """Group consecutive distinct values into about n_groups groups of similar mass.

    A value heavy enough to fill a group on its own always gets its own group, so that point masses
    (e.g. a price of exactly 1000) come back exactly instead of being smeared over their neighbours.
    With a `rule` (value protection) a group closes only when the rule is ready; a short run before
    a heavy value joins the previous group, and so does a short run at the end.
    """
    target = counts.sum() / n_groups
    ids = np.empty(len(counts), dtype=np.int64)
    group, filled, run_start = 0, 0.0, 0
    for i, c in enumerate(counts):
        heavy = c >= target and (rule is None or rule.own(i))
        if filled > 0 and (heavy or filled + c / 2 > target):
            if rule is None or rule.ready:
                group, filled, run_start = group + 1, 0.0, i
                if rule is not None:
                    rule.start()
            elif heavy and group > 0:
                ids[run_start:i] = group - 1
                filled, run_start = 0.0, i
                rule.start()
        ids[i] = group
        filled += c
        if rule is not None:
            rule.add(i)
        if heavy:
            filled = target  # close the group behind a point mass
    if rule is not None and not rule.ready and group > 0:
        ids[run_start:] = group - 1
    return ids


def subjects_by_value(
    values: np.ndarray, subjects: np.ndarray | None, distinct: np.ndarray
) -> list[Any] | None:
    """Per distinct value, the subjects that hold it (None without subjects)."""
    if subjects is None:
        return None
    position = np.searchsorted(distinct, values)
    pairs = pd.DataFrame({"at": position, "subject": subjects}).drop_duplicates().sort_values("at")
    starts = np.searchsorted(pairs["at"].to_numpy(), np.arange(len(distinct) + 1))
    held = pairs["subject"].to_numpy()
    return [held[starts[i] : starts[i + 1]] for i in range(len(distinct))]


def protected_members(
    distinct: np.ndarray, counts: np.ndarray, frequent: np.ndarray, group_of: np.ndarray, n_groups: int
) -> dict[str, Any]:
    """Stats keys of value protection: the frequent values with their counts, and per group the
    records of rare members (whose values are not kept)."""
    rare = np.bincount(group_of[~frequent], weights=counts[~frequent], minlength=n_groups)
    return {
        "frequent_values": [float(x) for x in distinct[frequent]],
        "frequent_counts": [int(x) for x in counts[frequent]],
        "rare_counts": [int(x) for x in rare],
    }


def draw_in_groups(group: np.ndarray, stats: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """A value for every row in its group (index into group_lo / group_hi). Frequent members come
    back exactly, not rounded: floats of more decimals than the precision grid holds (8) stay the
    values real records hold."""
    precision = int(stats["precision"])
    if "frequent_values" not in stats:  # unprotected, or saved before value protection by group
        lo = np.asarray(stats["group_lo"], float)[group]
        hi = np.asarray(stats["group_hi"], float)[group]
        return np.round(lo + rng.random(len(group)) * (hi - lo), precision)
    # per group first (a few thousand), then per row
    values = np.asarray(stats["frequent_values"], float)
    cum = np.r_[0.0, np.cumsum(np.asarray(stats["frequent_counts"], float))]
    first = np.searchsorted(values, np.asarray(stats["group_lo"], float), side="left")
    last = np.searchsorted(values, np.asarray(stats["group_hi"], float), side="right")
    frequent_mass = cum[last] - cum[first]
    rare_mass = np.asarray(stats["rare_counts"], float)
    if stats.get("snap"):
        rare_mass = np.where(frequent_mass > 0, 0.0, rare_mass)
    total = np.maximum(frequent_mass + rare_mass, 1e-12)
    pick = rng.random(len(group)) * total[group]
    exact = pick < frequent_mass[group]
    out = np.empty(len(group))
    if values.size and exact.any():
        idx = np.searchsorted(cum, cum[first[group[exact]]] + pick[exact], side="right") - 1
        out[exact] = values[np.clip(idx, 0, len(values) - 1)]
    rare = ~exact
    left, right = _gap_midpoints(stats)
    out[rare] = _grid_uniform(left, right, precision, group[rare], rng)
    return out


def _gap_midpoints(stats: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the range its rare mass is spread over: from the middle of the gap below it to the
    middle of the gap above (the range ends at the ends). Between its own smallest and largest
    member only, a draw would hit the group's members more often than a fresh real value does."""
    lo, hi = np.asarray(stats["group_lo"], float), np.asarray(stats["group_hi"], float)
    middles = (hi[:-1] + lo[1:]) / 2
    return np.r_[min(stats["lo"], lo[0]), middles], np.r_[middles, max(stats["hi"], hi[-1])]


def _grid_uniform(
    left: np.ndarray, right: np.ndarray, precision: int, group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For rows of `group`, uniform over the points of the precision grid in [left, right) of their
    group, every point equally likely (rounding a float draw would give the ends half weight); the
    last group keeps its right end."""
    scale = 10.0**precision
    a = np.ceil(np.round(left * scale, 6))
    b = np.r_[np.ceil(np.round(right[:-1] * scale, 6)) - 1, np.floor(np.round(right[-1:] * scale, 6))]
    if np.max(np.abs(np.r_[a, b]), initial=0) > MAX_GRID:
        return np.round(left[group] + rng.random(len(group)) * (right - left)[group], precision)
    steps = np.maximum(b - a + 1, 1)
    return (a[group] + np.floor(rng.random(len(group)) * steps[group])) / scale
