"""A distance-based membership-inference attack on synthetic data, and the bound that (ε, δ)-DP
puts on any attack's advantage.

The attacker holds candidate records, half of them training records (members), half not
(non-members), and the synthetic data. It scores each candidate by its distance to the nearest
synthetic record (in the distance metrics' encoded space: percentile positions of numbers, scaled
one-hot categories) and calls "member" below a threshold. Its advantage is the best TPR − FPR
over all thresholds: 0 when members are no closer to the synthetic data than fresh records are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_dagster.qa._prepare import prepare
from synth_dagster.qa.binning import fit_binning
from synth_dagster.qa.distances import nearest_two
from synth_dagster.qa.encoding import RecordEncoder


@dataclass(frozen=True)
class MembershipAttack:
    """The attack's outcome: `advantage` = max over thresholds of TPR − FPR, at `threshold`."""

    advantage: float
    threshold: float
    tpr: float
    fpr: float
    auc: float
    n_members: int
    n_non_members: int


def best_advantage(
    member_scores: np.ndarray, non_member_scores: np.ndarray
) -> tuple[float, float, float, float]:
    """(advantage, threshold, TPR, FPR) of "member if distance <= threshold", the best threshold.

    Every distinct distance is tried (ties fall on the same side), so this is the ROC curve's
    largest vertical gap to the diagonal; 0 at worst (threshold below every distance)."""
    thresholds = np.unique(np.concatenate([member_scores, non_member_scores]))
    members = np.sort(member_scores)
    others = np.sort(non_member_scores)
    tpr = np.searchsorted(members, thresholds, side="right") / max(len(members), 1)
    fpr = np.searchsorted(others, thresholds, side="right") / max(len(others), 1)
    gap = tpr - fpr
    i = int(np.argmax(gap)) if len(gap) else 0
    if not len(gap) or gap[i] <= 0:
        return 0.0, -math.inf, 0.0, 0.0
    return float(gap[i]), float(thresholds[i]), float(tpr[i]), float(fpr[i])


def _auc(member_scores: np.ndarray, non_member_scores: np.ndarray) -> float:
    """P(a member is closer than a non-member), ties half: the attack's ROC AUC."""
    ranks = pd.Series(np.concatenate([member_scores, non_member_scores])).rank().to_numpy()
    n_m, n_o = len(member_scores), len(non_member_scores)
    if not n_m or not n_o:
        return math.nan
    # small distances mean "member": the AUC of -distance
    member_rank_sum = ranks[:n_m].sum()
    return float(1.0 - (member_rank_sum - n_m * (n_m + 1) / 2) / (n_m * n_o))


def distance_attack(
    synthetic: pd.DataFrame, members: pd.DataFrame, non_members: pd.DataFrame
) -> MembershipAttack:
    """The attack on flat tables: candidates scored by the distance to their nearest synthetic
    record, encoded as the distance metrics encode records (fitted on members ∪ non-members)."""
    prep = prepare(
        synthetic,
        members,
        non_members,
        context=None,
        context_key=None,
        group_key=None,
        max_sample_size=None,
        random_state=0,
    )
    binning = fit_binning(prep.target_columns, prep.kinds, prep.frames["training"], prep.frames["holdout"])
    encoder = RecordEncoder.fit(prep, binning)
    x_syn = encoder.encode(prep, "synthetic")
    d_members, _ = nearest_two(encoder.encode(prep, "training"), x_syn)
    d_others, _ = nearest_two(encoder.encode(prep, "holdout"), x_syn)
    advantage, threshold, tpr, fpr = best_advantage(d_members, d_others)
    return MembershipAttack(
        advantage, threshold, tpr, fpr, _auc(d_members, d_others), len(d_members), len(d_others)
    )


def dp_advantage_bound(epsilon: float, delta: float = 0.0) -> float:
    """The most TPR − FPR any membership test can reach against an (ε, δ)-DP mechanism:
    (e^ε − 1 + 2δ) / (e^ε + 1), at most 1."""
    if math.isinf(epsilon):
        return 1.0
    e = math.exp(min(epsilon, 700.0))
    return min(1.0, (e - 1.0 + 2.0 * delta) / (e + 1.0))
