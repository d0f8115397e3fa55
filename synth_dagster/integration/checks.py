"""Quality and privacy checks of a trained generator, as Dagster asset checks.

The figures are the model report's (synth_dagster.qa); the judgement is synth_dagster.qa.gates's
(accuracy as a gap to the holdout reference, the DCR share with its interval); this module turns
verdicts into check results. With several tables a check passes only if it passes for every table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from synth_dagster.domain import ModelMetrics
from synth_dagster.integration.declaration import QualityChecks
from synth_dagster.qa.gates import Verdict, judge_accuracy, judge_dcr_share, judge_identical_matches

__all__ = [
    "ACCURACY_CHECK",
    "DCR_CHECK",
    "EPSILON_CHECK",
    "IMS_CHECK",
    "check_specs",
    "evaluate_checks",
    "failure_message",
    "verdicts",
]

ACCURACY_CHECK = "accuracy"
DCR_CHECK = "dcr_share"
IMS_CHECK = "identical_matches"
EPSILON_CHECK = "max_epsilon"


def _enabled(checks: QualityChecks) -> list[str]:
    names = []
    if checks.max_accuracy_gap is not None or checks.min_accuracy is not None:
        names.append(ACCURACY_CHECK)
    if checks.max_dcr_share is not None:
        names.append(DCR_CHECK)
    if checks.identical_matches:
        names.append(IMS_CHECK)
    if checks.max_epsilon is not None:
        names.append(EPSILON_CHECK)
    return names


def _description(name: str, checks: QualityChecks) -> str:
    if name == ACCURACY_CHECK:
        parts = []
        if checks.max_accuracy_gap is not None:
            parts.append(
                f"at most {100 * checks.max_accuracy_gap:.0f} points below the holdout reference "
                "(a same-sized holdout scored the same way); fails only when the gap's 95% interval "
                "lies wholly beyond"
            )
        if checks.min_accuracy is not None:
            parts.append(f"at least {checks.min_accuracy}")
        return "Overall accuracy of the synthetic sample is " + " and ".join(parts) + "."
    return {
        DCR_CHECK: (
            "Share of synthetic rows closer to a training row than to a holdout row is at most "
            f"{checks.max_dcr_share} (about 0.5 means no memorisation); fails only when its 95% "
            "interval lies wholly above."
        ),
        IMS_CHECK: (
            "Share of synthetic rows identical to a training row is not above the holdout reference "
            f"(training rows identical to a holdout row) + {checks.ims_tolerance}."
        ),
        EPSILON_CHECK: (
            "Every table trained with differential privacy, and the ε it spent (value protection + "
            f"DP-SGD) is at most {checks.max_epsilon}."
        ),
    }[name]


def check_specs(checks: QualityChecks | None, generator_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    if checks is None:
        return []
    return [
        dg.AssetCheckSpec(
            name,
            asset=generator_key,
            description=_description(name, checks),
            # only ERROR checks can block; a WARN check that "blocks" would be misleading in the UI
            blocking=checks.blocking and checks.severity_of(name) == dg.AssetCheckSeverity.ERROR,
        )
        for name in _enabled(checks)
    ]


_RULES: dict[str, Callable[[ModelMetrics | None, QualityChecks], Verdict]] = {
    ACCURACY_CHECK: lambda m, c: judge_accuracy(m, c.max_accuracy_gap, c.min_accuracy),
    DCR_CHECK: lambda m, c: judge_dcr_share(m, c.max_dcr_share),
    IMS_CHECK: lambda m, c: judge_identical_matches(m, c.ims_tolerance),
}


def judge_epsilon(epsilon: float | None, max_epsilon: float | None) -> Verdict:
    """The ε a table spent against `max_epsilon`; a table trained without differential privacy has
    no ε, and the check does not pass for it."""
    if epsilon is None or max_epsilon is None:
        return Verdict(
            EPSILON_CHECK, None, epsilon, "trained without differential privacy (no ε)", max_epsilon
        )
    passed = epsilon <= max_epsilon
    text = f"ε spent {epsilon:.3f} {'≤' if passed else '>'} max_epsilon {max_epsilon}"
    return Verdict(EPSILON_CHECK, passed, epsilon, text, max_epsilon)


def verdicts(
    checks: QualityChecks | None,
    metrics_by_table: Mapping[str, ModelMetrics | None],
    epsilon_by_table: Mapping[str, float | None] | None = None,
) -> dict[str, dict[str, Verdict]]:
    """Per enabled check, per table, the verdict (figures and thresholds in words). ε comes from
    the training summary (`epsilon_by_table`), not from the model report."""
    if checks is None:
        return {}
    epsilons = epsilon_by_table or {}
    return {
        name: {
            table: judge_epsilon(epsilons.get(table), checks.max_epsilon)
            if name == EPSILON_CHECK
            else _RULES[name](m, checks)
            for table, m in metrics_by_table.items()
        }
        for name in _enabled(checks)
    }


def _metadata(verdict: Verdict, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if verdict.value is not None:
        out[f"{prefix}value"] = dg.MetadataValue.float(round(verdict.value, 4))
    if verdict.reference is not None:
        label = "threshold" if verdict.name in (DCR_CHECK, EPSILON_CHECK) else "holdout_reference"
        out[f"{prefix}{label}"] = dg.MetadataValue.float(round(verdict.reference, 4))
    if verdict.low is not None and verdict.high is not None:
        key = "gap_interval_95" if verdict.name == ACCURACY_CHECK else "interval_95"
        out[f"{prefix}{key}"] = dg.MetadataValue.text(f"[{verdict.low:.4f}, {verdict.high:.4f}]")
    out[f"{prefix}summary"] = dg.MetadataValue.text(verdict.text)
    return out


def _thresholds(name: str, checks: QualityChecks) -> dict[str, Any]:
    """The accuracy check's thresholds (its per-table reference is the holdout's figure)."""
    if name != ACCURACY_CHECK:
        return {}
    limits = {"max_accuracy_gap": checks.max_accuracy_gap, "min_accuracy": checks.min_accuracy}
    return {k: dg.MetadataValue.float(v) for k, v in limits.items() if v is not None}


def evaluate_checks(
    checks: QualityChecks | None,
    generator_key: dg.AssetKey,
    metrics_by_table: Mapping[str, ModelMetrics | None],
    epsilon_by_table: Mapping[str, float | None] | None = None,
) -> list[dg.AssetCheckResult]:
    """One result per enabled check. A figure that could not be computed (e.g. no holdout for a
    tiny table) fails the check with WARN severity, saying so: a privacy check never passes silently."""
    if checks is None:
        return []
    results = []
    several = len(metrics_by_table) > 1
    for name, by_table in verdicts(checks, metrics_by_table, epsilon_by_table).items():
        metadata: dict[str, Any] = {}
        for table, verdict in by_table.items():
            metadata |= _metadata(verdict, f"{table}/" if several else "")
        metadata |= _thresholds(name, checks)
        outcomes = [v.passed for v in by_table.values() if v.passed is not None]
        missing = [t for t, v in by_table.items() if v.passed is None]
        severity = checks.severity_of(name)
        if missing:
            metadata["not_computed_for"] = dg.MetadataValue.text(", ".join(missing))
            if all(outcomes):  # a real failure keeps its declared severity
                severity = dg.AssetCheckSeverity.WARN
        texts = [f"{t}: {v.text}" if several else v.text for t, v in by_table.items()]
        results.append(
            dg.AssetCheckResult(
                asset_key=generator_key,
                check_name=name,
                passed=bool(outcomes) and all(outcomes) and not missing,
                severity=severity,
                metadata=metadata,
                description=_description(name, checks) + " Measured: " + "; ".join(texts) + ".",
            )
        )
    return results


def failure_message(generator: str, results: list[dg.AssetCheckResult]) -> str:
    """The run's error message for failed checks: each with its figures and thresholds."""
    lines = [f"Generator {generator!r} failed {len(results)} blocking quality check(s):"]
    for r in results:
        summaries = [
            k.removesuffix("summary") + str(v.value) for k, v in r.metadata.items() if k.endswith("summary")
        ]
        lines.append(f"  {r.check_name}: " + "; ".join(summaries))
    return "\n".join(lines)
