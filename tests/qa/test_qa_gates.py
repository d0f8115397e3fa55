"""Quality gates judge figures with their uncertainty: accuracy as a gap to the holdout, DCR share
with its interval, and a warning when the holdout is too small."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain.metrics import Accuracy, AccuracyFigure, Distances, ModelMetrics
from synth_dagster.qa import assess, gates
from synth_dagster.qa.distances import share_interval


def _metrics(overall=0.72, overall_max=0.80, share=0.565, n=23) -> ModelMetrics:
    low, high = share_interval(share, n)
    return ModelMetrics(
        accuracy=Accuracy(overall=overall, overall_max=overall_max),
        distances=Distances(
            dcr_share=share, dcr_share_low=low, dcr_share_high=high, ims_training=0.0, ims_trn_hol=0.0
        ),
        holdout_records=n,
    )


def test_share_interval_narrows_with_the_holdout() -> None:
    low, high = share_interval(0.565, 23)
    assert low < 0.4 and high > 0.7  # 23 records: the share says little
    low, high = share_interval(0.565, 5000)
    assert 0.55 < low < 0.565 < high < 0.58


def test_dcr_share_fails_only_when_the_interval_lies_beyond() -> None:
    small = gates.judge_dcr_share(_metrics(share=0.65, n=23), 0.6)
    assert small.passed is True and "straddles" in small.text
    large = gates.judge_dcr_share(_metrics(share=0.65, n=5000), 0.6)
    assert large.passed is False and "lies above the maximum 0.600" in large.text
    assert "0.650" in large.text and f"{large.low:.3f}" in large.text


def test_accuracy_is_judged_against_the_holdout_reference() -> None:
    # ggplot2/mpg-like: low absolute accuracy, but close to what the holdout itself reaches
    ok = gates.judge_accuracy(_metrics(0.722, 0.78), 0.10)
    assert ok.passed and "gap 5.8 points" in ok.text and "holdout reference 0.780" in ok.text
    bad = gates.judge_accuracy(_metrics(0.60, 0.90), 0.10)
    assert bad.passed is False and "gap 30.0 points (beyond the allowed 10.0 points)" in bad.text
    floor = gates.judge_accuracy(_metrics(0.722, 0.78), 0.10, min_accuracy=0.85)
    assert floor.passed is False and "below the minimum 0.850" in floor.text
    missing = gates.judge_accuracy(_metrics(0.7, None), 0.10)
    assert missing.passed is None


@pytest.mark.parametrize("n, warned", [(23, True), (199, True), (200, False), (None, False)])
def test_small_holdout_warns(n, warned) -> None:
    m = _metrics(n=23)
    m.holdout_records = n
    assert bool(m.warnings) is warned
    if warned:
        assert f"holdout of only {n} records" in m.warnings[0]


def test_accuracy_figure_repr_carries_reference_and_warning() -> None:
    m = _metrics(n=23)
    figure = AccuracyFigure(0.722, 0.78, m.warnings)
    assert figure == pytest.approx(0.722) and isinstance(figure, float)
    assert repr(figure).startswith("0.722 (holdout reference 0.780; warning: holdout of only 23 records")
    assert repr(AccuracyFigure(0.9)) == "0.900"


def test_accuracy_gap_fails_only_when_its_interval_lies_beyond() -> None:
    def judged(low: float, high: float) -> gates.Verdict:
        m = _metrics(0.70, 0.806)  # a point gap of 10.6 points, above the allowed 10
        m.accuracy.overall_gap_low, m.accuracy.overall_gap_high = low, high
        return gates.judge_accuracy(m, 0.10)

    straddling = judged(0.02, 0.19)
    assert straddling.passed and "straddles" in straddling.text and "[2.0, 19.0]" in straddling.text
    assert (straddling.low, straddling.high) == (0.02, 0.19)
    beyond = judged(0.102, 0.11)
    assert beyond.passed is False and "lies beyond" in beyond.text


def _bins(rng: np.random.Generator, n: int, skew: float) -> pd.DataFrame:
    """Three related categorical columns; `skew` moves mass away from the training distribution."""
    a = rng.choice(4, n, p=np.array([0.4, 0.3, 0.2, 0.1]) * (1 - skew) + np.array([0, 0, 0, 1]) * skew)
    return pd.DataFrame(
        {
            "a": a.astype(str),
            "b": ((a + rng.integers(0, 2, n)) % 4).astype(str),
            "c": rng.choice(["x", "y"], n),
        }
    )


def test_accuracy_gap_interval_covers_the_gap_and_narrows_with_the_holdout() -> None:
    widths = {}
    for n_holdout in (25, 2_000):
        rng = np.random.default_rng(0)
        training = _bins(rng, 5_000, 0.0)
        m = assess(_bins(rng, 5_000, 0.0), training, _bins(rng, n_holdout, 0.0)).metrics.accuracy
        assert m.overall_gap_low <= m.overall_max - m.overall <= m.overall_gap_high
        widths[n_holdout] = m.overall_gap_high - m.overall_gap_low
    # the sampling noise of two n-record accuracies: tens of points at 25 records, a few at 2,000
    assert widths[25] > 0.1 and widths[2_000] < 0.05 and widths[25] > 4 * widths[2_000], widths


def test_a_clearly_worse_generator_fails_the_accuracy_gate_even_on_a_small_holdout() -> None:
    rng = np.random.default_rng(1)
    training = _bins(rng, 5_000, 0.0)
    metrics = assess(_bins(rng, 2_000, 0.9), training, _bins(rng, 60, 0.0)).metrics
    verdict = gates.judge_accuracy(metrics, 0.10)
    assert verdict.passed is False and "lies beyond" in verdict.text, verdict.text
