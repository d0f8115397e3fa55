"""Quality and privacy checks of a trained generator, as Dagster asset checks.

The figures are the model report's (synth_dagster.qa); this module only compares them with the
declared thresholds. With several tables a check passes only if it passes for every table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from synth_dagster.domain import ModelMetrics
from synth_dagster.integration.declaration import QualityChecks

__all__ = ["ACCURACY_CHECK", "DCR_CHECK", "EPSILON_CHECK", "IMS_CHECK", "check_specs", "evaluate_checks"]

ACCURACY_CHECK = "accuracy"
DCR_CHECK = "dcr_share"
IMS_CHECK = "identical_matches"
EPSILON_CHECK = "max_epsilon"


def _enabled(checks: QualityChecks) -> list[str]:
    names = []
    if checks.min_accuracy is not None:
        names.append(ACCURACY_CHECK)
    if checks.max_dcr_share is not None:
        names.append(DCR_CHECK)
    if checks.identical_matches:
        names.append(IMS_CHECK)
    if checks.max_epsilon is not None:
        names.append(EPSILON_CHECK)
    return names


def _description(name: str, checks: QualityChecks) -> str:
    return {
        ACCURACY_CHECK: f"Overall accuracy of the synthetic sample is at least {checks.min_accuracy}.",
        DCR_CHECK: (
            "Share of synthetic rows closer to a training row than to a holdout row is at most "
            f"{checks.max_dcr_share} (about 0.5 means no memorisation)."
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


# Each rule: (figure, reference or threshold, passed?) from one table's metrics; None = not computed.
Rule = Callable[[ModelMetrics, QualityChecks], tuple[float | None, float | None, bool | None]]


def _accuracy(m: ModelMetrics, c: QualityChecks) -> tuple[float | None, float | None, bool | None]:
    value = m.accuracy.overall if m.accuracy else None
    threshold = c.min_accuracy
    return value, threshold, None if value is None or threshold is None else value >= threshold


def _dcr(m: ModelMetrics, c: QualityChecks) -> tuple[float | None, float | None, bool | None]:
    value = m.distances.dcr_share if m.distances else None
    threshold = c.max_dcr_share
    return value, threshold, None if value is None or threshold is None else value <= threshold


def _ims(m: ModelMetrics, c: QualityChecks) -> tuple[float | None, float | None, bool | None]:
    value = m.distances.ims_training if m.distances else None
    reference = m.distances.ims_trn_hol if m.distances else None
    if value is None or reference is None:
        return value, reference, None
    return value, reference, value <= reference + c.ims_tolerance


def _epsilon(value: float | None, c: QualityChecks) -> tuple[float | None, float | None, bool | None]:
    # a table trained without differential privacy has no ε: the check does not pass for it
    return value, c.max_epsilon, None if value is None or c.max_epsilon is None else value <= c.max_epsilon


_RULES: dict[str, Rule] = {ACCURACY_CHECK: _accuracy, DCR_CHECK: _dcr, IMS_CHECK: _ims}


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
    for name in _enabled(checks):
        metadata: dict[str, Any] = {}
        outcomes: list[bool] = []
        missing: list[str] = []
        for table, metrics in metrics_by_table.items():
            if name == EPSILON_CHECK:  # from the training summary, not the model report
                value, reference, passed = _epsilon((epsilon_by_table or {}).get(table), checks)
            elif metrics is not None:
                value, reference, passed = _RULES[name](metrics, checks)
            else:
                value, reference, passed = None, None, None
            prefix = f"{table}/" if several else ""
            if value is not None:
                metadata[f"{prefix}value"] = dg.MetadataValue.float(round(value, 4))
            if reference is not None:
                label = "holdout_reference" if name == IMS_CHECK else "threshold"
                metadata[f"{prefix}{label}"] = dg.MetadataValue.float(round(reference, 4))
            if passed is None:
                missing.append(table)
            else:
                outcomes.append(passed)
        severity = checks.severity_of(name)
        if missing:
            metadata["not_computed_for"] = dg.MetadataValue.text(", ".join(missing))
            severity = dg.AssetCheckSeverity.WARN
        passed = bool(outcomes) and all(outcomes) and not missing
        if missing and outcomes and not all(outcomes):
            severity = checks.severity_of(name)  # a real failure keeps its declared severity
        results.append(
            dg.AssetCheckResult(
                asset_key=generator_key,
                check_name=name,
                passed=passed,
                severity=severity,
                metadata=metadata,
                description=_description(name, checks),
            )
        )
    return results
