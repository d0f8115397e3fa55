"""The distance-based membership-inference attack and the advantage bound of (ε, δ)-DP."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synth_dagster.qa.membership import best_advantage, distance_attack, dp_advantage_bound


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"x": rng.normal(size=n), "y": rng.exponential(size=n), "c": rng.choice(list("abcd"), n)}
    )


def test_best_advantage_is_the_largest_tpr_minus_fpr() -> None:
    members = np.array([0.0, 0.1, 0.2, 5.0])
    others = np.array([0.15, 3.0, 4.0, 6.0])
    advantage, threshold, tpr, fpr = best_advantage(members, others)
    # 0.1 and 0.2 both reach 0.5; the first (smallest) threshold is reported
    assert (advantage, threshold, tpr, fpr) == pytest.approx((0.5, 0.1, 0.5, 0.0))
    assert best_advantage(others + 10, others)[0] == 0.0  # members farther: no advantage


def test_copied_members_are_found_and_fresh_synthetic_rows_give_nothing() -> None:
    members, others = _frame(400, 1), _frame(400, 2)
    leaked = distance_attack(members.copy(), members, others)
    assert leaked.advantage > 0.9 and leaked.auc > 0.95
    fresh = distance_attack(_frame(400, 3), members, others)
    assert fresh.advantage < 1.36 * math.sqrt(2 / 400)  # within what chance alone reaches (95%)
    assert fresh.n_members == fresh.n_non_members == 400


def test_dp_advantage_bound() -> None:
    assert dp_advantage_bound(0.0, 0.0) == 0.0
    assert dp_advantage_bound(1.0, 1e-5) == pytest.approx((math.e - 1 + 2e-5) / (math.e + 1))
    assert dp_advantage_bound(50.0) == pytest.approx(1.0)
    assert dp_advantage_bound(math.inf) == 1.0
