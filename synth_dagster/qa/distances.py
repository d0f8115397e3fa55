"""Nearest-neighbour distances between encoded records (privacy figures).

Exact Euclidean nearest neighbours by chunked brute force: float32 matrix products shortlist a few
candidates, whose distances are then recomputed exactly in float64 and rounded, so that identical
records are at distance 0 and equal distances compare equal (ties in `dcr_share` count half).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synth_dagster.domain.metrics import Distances

N_CANDIDATES = 4  # shortlist size; covers float32 rounding among near-equal neighbours
CHUNK_ROWS = 1024
DECIMALS = 10  # distances are compared after rounding to this many decimals
NNDR_QUANTILE = 0.1  # "10th smallest" ratio, read as the 10th percentile (independent of n)


def nearest_two(query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances of every query row to its nearest and second-nearest reference rows."""
    if len(reference) == 0:
        raise ValueError("nearest-neighbour reference set is empty")
    k = min(N_CANDIDATES, len(reference))
    ref32 = reference.astype(np.float32)
    ref_sq = np.einsum("ij,ij->i", ref32, ref32)
    d1 = np.empty(len(query))
    d2 = np.empty(len(query))
    for start in range(0, len(query), CHUNK_ROWS):
        q = query[start : start + CHUNK_ROWS]
        q32 = q.astype(np.float32)
        approx = ref_sq[None, :] - 2.0 * (q32 @ ref32.T)  # |q|^2 is constant per row: left out
        cand = np.empty((len(q), k), dtype=np.int64)
        rows = np.arange(len(q))
        for j in range(k):  # k argmins beat argpartition on wide rows
            idx = np.argmin(approx, axis=1)
            cand[:, j] = idx
            approx[rows, idx] = np.inf
        diff = q[:, None, :] - reference[cand]
        exact = np.round(np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)), DECIMALS)
        exact.sort(axis=1)
        d1[start : start + len(q)] = exact[:, 0]
        d2[start : start + len(q)] = exact[:, 1] if k > 1 else np.inf
    return d1, d2


def nndr(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Nearest / second-nearest distance ratio; 1 when both are 0 (no single record stands out)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), 1.0)
    return ratio


def identical_share(hashes: np.ndarray, reference_hashes: np.ndarray) -> float:
    return float(np.isin(hashes, reference_hashes).mean())


def closer_share(d_training: np.ndarray, d_holdout: np.ndarray) -> float:
    """Share of records closer to training than to holdout; ties count half."""
    return float(np.mean(d_training < d_holdout) + 0.5 * np.mean(d_training == d_holdout))


def share_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a share measured on n records (95% for z = 1.96)."""
    if n <= 0:
        return 0.0, 1.0
    denom = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denom
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class DistanceResult:
    """Per-record nearest-neighbour distances, kept for the report's histograms."""

    metrics: Distances
    dcr_syn_trn: np.ndarray
    dcr_syn_hol: np.ndarray | None
    dcr_trn_hol: np.ndarray | None
    nndr_syn_trn: np.ndarray
    nndr_syn_hol: np.ndarray | None
    nndr_trn_hol: np.ndarray | None
    n_records: int


def compute_distances(
    x_syn: np.ndarray,
    x_trn: np.ndarray,
    x_hol: np.ndarray | None,
    h_syn: np.ndarray,
    h_trn: np.ndarray,
    h_hol: np.ndarray | None,
) -> DistanceResult:
    """All distance figures; the inputs are already sampled to equal sizes."""
    s_t1, s_t2 = nearest_two(x_syn, x_trn)
    nndr_st = nndr(s_t1, s_t2)
    fields: dict[str, float] = {
        "ims_training": identical_share(h_syn, h_trn),
        "dcr_training": float(s_t1.mean()),
        "nndr_training": float(np.quantile(nndr_st, NNDR_QUANTILE)),
    }
    s_h1 = t_h1 = nndr_sh = nndr_th = None
    if x_hol is not None and h_hol is not None:
        s_h1, s_h2 = nearest_two(x_syn, x_hol)
        t_h1, t_h2 = nearest_two(x_trn, x_hol)
        nndr_sh, nndr_th = nndr(s_h1, s_h2), nndr(t_h1, t_h2)
        share = closer_share(s_t1, s_h1)
        low, high = share_interval(share, len(x_syn))
        fields |= {
            "ims_holdout": identical_share(h_syn, h_hol),
            "ims_trn_hol": identical_share(h_trn, h_hol),
            "dcr_holdout": float(s_h1.mean()),
            "dcr_trn_hol": float(t_h1.mean()),
            "dcr_share": share,
            "dcr_share_low": low,
            "dcr_share_high": high,
            "nndr_holdout": float(np.quantile(nndr_sh, NNDR_QUANTILE)),
            "nndr_trn_hol": float(np.quantile(nndr_th, NNDR_QUANTILE)),
        }
    return DistanceResult(
        metrics=Distances(**fields),
        dcr_syn_trn=s_t1,
        dcr_syn_hol=s_h1,
        dcr_trn_hol=t_h1,
        nndr_syn_trn=nndr_st,
        nndr_syn_hol=nndr_sh,
        nndr_trn_hol=nndr_th,
        n_records=len(x_syn),
    )
