"""Accuracy = 1 - total variation distance between discretized marginals.

All functions take bin-code matrices (rows x columns, see `binning`) so that the same code serves the
synthetic figure (synthetic vs training) and its holdout reference (holdout vs training).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

MAX_TRIPLES = 100  # random three-way marginals; enough for a stable mean, cheap to compute


def frequencies(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Relative frequency of each code (sums to 1)."""
    counts = np.bincount(codes, minlength=n_codes).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def accuracy_of(a: np.ndarray, b: np.ndarray) -> float:
    """1 - TVD of two relative-frequency vectors over the same bins."""
    return float(1.0 - 0.5 * np.abs(a - b).sum())


def joint_codes(codes: np.ndarray, cols: tuple[int, ...], sizes: np.ndarray) -> tuple[np.ndarray, int]:
    """One code per row for the cell of the joint histogram over `cols` (mixed radix)."""
    out = np.zeros(codes.shape[0], dtype=np.int64)
    n = 1
    for c in cols:
        out = out * sizes[c] + codes[:, c]
        n *= int(sizes[c])
    return out, n


def marginal_accuracy(ref: np.ndarray, other: np.ndarray, cols: tuple[int, ...], sizes: np.ndarray) -> float:
    a, n = joint_codes(ref, cols, sizes)
    b, _ = joint_codes(other, cols, sizes)
    return accuracy_of(frequencies(a, n), frequencies(b, n))


@dataclass(frozen=True)
class MarginalAccuracy:
    """Accuracy of one marginal: synthetic vs training, and the holdout reference."""

    columns: tuple[str, ...]
    accuracy: float
    accuracy_max: float | None


def _score(
    trn: np.ndarray,
    syn: np.ndarray,
    hol: np.ndarray | None,
    names: list[str],
    sizes: np.ndarray,
    combos: list[tuple[int, ...]],
) -> list[MarginalAccuracy]:
    return [
        MarginalAccuracy(
            tuple(names[i] for i in cols),
            marginal_accuracy(trn, syn, cols, sizes),
            None if hol is None else marginal_accuracy(trn, hol, cols, sizes),
        )
        for cols in combos
    ]


def univariates(
    trn: np.ndarray,
    syn: np.ndarray,
    hol: np.ndarray | None,
    names: list[str],
    sizes: np.ndarray,
    n_target: int,
) -> list[MarginalAccuracy]:
    """Target columns only: context columns belong to the context table's own model."""
    return _score(trn, syn, hol, names, sizes, [(i,) for i in range(n_target)])


def bivariates(
    trn: np.ndarray,
    syn: np.ndarray,
    hol: np.ndarray | None,
    names: list[str],
    sizes: np.ndarray,
    n_target: int,
) -> list[MarginalAccuracy]:
    """All target pairs, plus every target column with every context column."""
    combos: list[tuple[int, ...]] = list(itertools.combinations(range(n_target), 2))
    return _score(trn, syn, hol, names, sizes, combos) + cross_pairs(trn, syn, hol, names, sizes, n_target)


def cross_pairs(
    trn: np.ndarray,
    syn: np.ndarray,
    hol: np.ndarray | None,
    names: list[str],
    sizes: np.ndarray,
    n_target: int,
) -> list[MarginalAccuracy]:
    """Every target column with every context column (or a child's columns with its parent's)."""
    combos: list[tuple[int, ...]] = [(i, j) for i in range(n_target) for j in range(n_target, len(names))]
    return _score(trn, syn, hol, names, sizes, combos)


def trivariates(
    trn: np.ndarray,
    syn: np.ndarray,
    hol: np.ndarray | None,
    names: list[str],
    sizes: np.ndarray,
    n_target: int,
    random_state: int,
    max_triples: int = MAX_TRIPLES,
) -> list[MarginalAccuracy]:
    """Target triples; a random subset of at most `max_triples` of them."""
    combos = list(itertools.combinations(range(n_target), 3))
    if len(combos) > max_triples:
        rng = np.random.default_rng(random_state)
        picked = np.sort(rng.choice(len(combos), size=max_triples, replace=False))
        combos = [combos[i] for i in picked]
    return _score(trn, syn, hol, names, sizes, combos)


def transition_codes(codes: np.ndarray, groups: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per column, the code pair (value at t, value at t + 1) for consecutive rows of one group.

    Returns a (pairs x columns) matrix of joint codes in [0, size**2).
    """
    same = groups[1:] == groups[:-1]
    prev, nxt = codes[:-1][same], codes[1:][same]
    return prev * sizes[None, :] + nxt


def coherences(
    trn: np.ndarray,
    trn_groups: np.ndarray,
    syn: np.ndarray,
    syn_groups: np.ndarray,
    hol: np.ndarray | None,
    hol_groups: np.ndarray | None,
    names: list[str],
    sizes: np.ndarray,
    n_target: int,
) -> list[MarginalAccuracy]:
    """Accuracy of each target column's distribution of successive value pairs within a sequence."""
    cols = np.arange(n_target)
    t = transition_codes(trn[:, cols], trn_groups, sizes[cols])
    if len(t) == 0:
        return []  # no sequence in training has two rows: coherence does not apply
    s = transition_codes(syn[:, cols], syn_groups, sizes[cols])
    h = None if hol is None or hol_groups is None else transition_codes(hol[:, cols], hol_groups, sizes[cols])
    out = []
    for i in cols:
        n = int(sizes[i]) ** 2
        ft = frequencies(t[:, i], n)
        # A synthetic set without any multi-row sequence has nothing in common: accuracy 0.
        acc = accuracy_of(ft, frequencies(s[:, i], n)) if len(s) else 0.0
        acc_max = None if h is None else (accuracy_of(ft, frequencies(h[:, i], n)) if len(h) else 0.0)
        out.append(MarginalAccuracy((names[i],), acc, acc_max))
    return out


def mean_accuracy(items: list[MarginalAccuracy]) -> tuple[float | None, float | None]:
    if not items:
        return None, None
    acc = float(np.mean([m.accuracy for m in items]))
    maxes = [m.accuracy_max for m in items]
    acc_max = None if any(m is None for m in maxes) else float(np.mean(maxes))
    return acc, acc_max
