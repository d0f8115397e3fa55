"""Quality gates: a table's figures judged against thresholds, with their uncertainty.

Pure functions over `ModelMetrics`, shared by the Dagster asset checks and the command line, so a
check and its message read the same everywhere.

- accuracy: judged against the holdout reference (`overall_max`, a same-sized holdout scored like
  the synthetic sample), as a gap in points: what a table allows depends on the table (ggplot2/mpg
  holdout reference is far below diamonds'), the gap does not. The gap has a 95% bootstrap
  interval (`qa.uncertainty`); the check fails only when the whole interval lies beyond the
  allowed gap, so a small holdout cannot fail a run by chance.
- DCR share: judged with its 95% interval over the compared records; it fails only when the whole
  interval lies above the threshold, so a small holdout cannot fail (or pass) a run by chance.
- identical matches: the share of exact copies of training rows is not above the holdout's own
  rate plus a tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

from synth_dagster.domain.metrics import ModelMetrics
from synth_dagster.qa.distances import share_interval

__all__ = [
    "DEFAULT_MAX_ACCURACY_GAP",
    "DEFAULT_MAX_DCR_SHARE",
    "DEFAULT_IMS_TOLERANCE",
    "Verdict",
    "judge_accuracy",
    "judge_dcr_share",
    "judge_identical_matches",
]

# Why these defaults: a generator on a table it fits well stays within 2-6 points of its holdout
# reference (diamonds, mpg, flights); 10 points flags a model that missed the table's structure.
DEFAULT_MAX_ACCURACY_GAP = 0.10
# 0.5 is a generator that is no closer to its training rows than to unseen rows; 0.6 allows the
# usual pull of a trained model, and the interval keeps small holdouts from failing by chance.
DEFAULT_MAX_DCR_SHARE = 0.6
DEFAULT_IMS_TOLERANCE = 0.01


@dataclass(frozen=True)
class Verdict:
    """One check on one table. `passed` is None when a figure is missing (not computed)."""

    name: str
    passed: bool | None
    value: float | None
    text: str  # the figures and thresholds, in words
    reference: float | None = None  # holdout reference or threshold, as the check compares them
    low: float | None = None
    high: float | None = None


def _points(x: float) -> str:
    return f"{100 * x:.1f} points"


def judge_accuracy(
    m: ModelMetrics | None, max_gap: float | None, min_accuracy: float | None = None
) -> Verdict:
    """Overall accuracy no more than `max_gap` below the holdout's; at least `min_accuracy` if set."""
    acc = m.accuracy if m is not None else None
    value = acc.overall if acc else None
    reference = acc.overall_max if acc else None
    if value is None:
        return Verdict("accuracy", None, None, "accuracy not computed")
    parts, ok = [f"accuracy {value:.3f}"], True
    if max_gap is not None:
        if reference is None:
            return Verdict("accuracy", None, value, f"accuracy {value:.3f}; no holdout reference to judge it")
        gap = reference - value
        low, high = acc.overall_gap_low, acc.overall_gap_high
        if low is None or high is None:  # figures stored before intervals existed
            ok = gap <= max_gap
            where = "within" if ok else "beyond"
            parts.append(
                f"holdout reference {reference:.3f}: gap {_points(gap)} ({where} the allowed {_points(max_gap)})"
            )
        else:
            ok = low <= max_gap
            where = "lies beyond" if not ok else ("straddles" if high > max_gap else "lies within")
            parts.append(
                f"holdout reference {reference:.3f}: gap {_points(gap)}, 95% interval "
                f"[{100 * low:.1f}, {100 * high:.1f}] {where} the allowed {_points(max_gap)}"
            )
    if min_accuracy is not None:
        floor_ok = value >= min_accuracy
        ok = ok and floor_ok
        parts.append(f"{'at least' if floor_ok else 'below'} the minimum {min_accuracy:.3f}")
    low_high = (acc.overall_gap_low, acc.overall_gap_high) if max_gap is not None else (None, None)
    return Verdict("accuracy", ok, value, ", ".join(parts), reference, *low_high)


def judge_dcr_share(m: ModelMetrics | None, max_share: float | None) -> Verdict:
    """Fails only when the DCR share's 95% interval lies wholly above `max_share`."""
    d = m.distances if m is not None else None
    value = d.dcr_share if d else None
    if value is None or max_share is None:
        return Verdict("dcr_share", None, value, "DCR share not computed (no holdout)")
    low, high = d.dcr_share_low, d.dcr_share_high  # type: ignore[union-attr]
    if low is None or high is None:  # figures stored before intervals existed
        n = m.holdout_records if m is not None and m.holdout_records else 0
        low, high = share_interval(value, n) if n else (value, value)
    ok = low <= max_share
    where = "lies above" if not ok else ("straddles" if high > max_share else "lies below")
    text = f"DCR share {value:.3f}, 95% interval [{low:.3f}, {high:.3f}] {where} the maximum {max_share:.3f}"
    return Verdict("dcr_share", ok, value, text, max_share, low, high)


def judge_identical_matches(m: ModelMetrics | None, tolerance: float) -> Verdict:
    d = m.distances if m is not None else None
    value = d.ims_training if d else None
    reference = d.ims_trn_hol if d else None
    if value is None or reference is None:
        return Verdict("identical_matches", None, value, "identical matches not computed (no holdout)")
    ok = value <= reference + tolerance
    text = (
        f"identical matches {value:.1%} of synthetic rows, holdout reference {reference:.1%} "
        f"+ tolerance {tolerance:.1%}"
    )
    return Verdict("identical_matches", ok, value, text, reference)
