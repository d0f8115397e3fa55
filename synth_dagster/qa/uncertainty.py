"""How sure the accuracy gap is: a bootstrap interval for (holdout reference - synthetic accuracy).

Both figures score a sample of the same size against the training data, so on a small holdout both
move by several points from one draw to the next (ggplot2/mpg, 23 holdout rows: the reference
ranged 0.65-0.73 over ten runs). A gate on the point gap then passes or fails by chance; the
interval says when the gap is clearly beyond a threshold.

Records (rows, or whole sequences) of the synthetic sample and of the holdout are resampled with
replacement, the univariate and bivariate accuracies recomputed against the fixed training
histograms, and the spread of the gap taken as its standard error. At most `MAX_BOOTSTRAP_RECORDS`
records are resampled; the standard error is scaled back to the full size by sqrt(m / n). A
sequence's coherence term is held fixed (it needs whole transitions; its share of the gap is
small next to the marginals').
"""

from __future__ import annotations

import itertools

import numpy as np

from synth_dagster.qa import accuracy as acc

N_DRAWS = 40
MAX_BOOTSTRAP_RECORDS = 2_000
Z_95 = 1.959964


def _records(codes: np.ndarray, groups: np.ndarray | None) -> list[np.ndarray] | int:
    """The row count where every row is a record, else the row indices of each sequence."""
    if groups is None:
        return len(codes)
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(groups[order][1:] != groups[order][:-1]) + 1
    return np.split(order, bounds)


def _resample(records: list[np.ndarray] | int, m: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(records, int):
        return rng.integers(0, records, m)
    return np.concatenate([records[i] for i in rng.integers(0, len(records), m)])


def _marginal_sets(sizes: np.ndarray, n_target: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    uni = [(i,) for i in range(n_target)]
    bi = list(itertools.combinations(range(n_target), 2))
    bi += [(i, j) for i in range(n_target) for j in range(n_target, len(sizes))]
    return uni, bi


def gap_interval(
    trn: np.ndarray,
    syn: tuple[np.ndarray, np.ndarray | None],
    hol: tuple[np.ndarray, np.ndarray | None],
    sizes: np.ndarray,
    n_target: int,
    point_gap: float,
    random_state: int,
) -> tuple[float, float] | None:
    """95% interval of the overall accuracy gap; `syn` and `hol` are (codes, groups or None)."""
    uni, bi = _marginal_sets(sizes, n_target)
    if not uni:
        return None
    combos = uni + bi
    joint = {
        name: [acc.joint_codes(c[0], cols, sizes)[0] for cols in combos]
        for name, c in (("syn", syn), ("hol", hol))
    }
    trn_joint = [acc.joint_codes(trn, cols, sizes) for cols in combos]
    cells = [n_cells for _, n_cells in trn_joint]
    trn_freq = [acc.frequencies(codes, n_cells) for codes, n_cells in trn_joint]
    records = {"syn": _records(*syn), "hol": _records(*hol)}
    n = min(r if isinstance(r, int) else len(r) for r in records.values())
    if n < 2:
        return None
    m = min(n, MAX_BOOTSTRAP_RECORDS)
    rng = np.random.default_rng([random_state, 7])
    gaps = []
    for _ in range(N_DRAWS):
        overall = {}
        for name in ("syn", "hol"):
            rows = _resample(records[name], m, rng)
            scores = [
                acc.accuracy_of(trn_freq[k], acc.frequencies(joint[name][k][rows], cells[k]))
                for k in range(len(combos))
            ]
            parts = [np.mean(scores[: len(uni)])] + ([np.mean(scores[len(uni) :])] if bi else [])
            overall[name] = float(np.mean(parts))
        gaps.append(overall["hol"] - overall["syn"])
    se = float(np.std(gaps, ddof=1)) * np.sqrt(m / n)
    return point_gap - Z_95 * se, point_gap + Z_95 * se
