"""synth_dagster.domain: pydantic models for the configuration vocabulary of the reference docs.

Pure data and validation: never imports dagster, torch or the engine.
"""

from __future__ import annotations

import importlib
import warnings

from synth_dagster.domain.config import (
    DEFAULT_LANGUAGE_MODEL,
    DEFAULT_TABULAR_MODEL,
    TABULAR_MODELS,
    Constraint,
    ConstraintConfig,
    DifferentialPrivacyConfig,
    DomainModel,
    DomainView,
    FixedCombinations,
    GeneratorConfig,
    Inequality,
    ModelConfiguration,
    SourceColumn,
    SourceColumnConfig,
    SourceColumnValueRange,
    SourceForeignKey,
    SourceForeignKeyConfig,
    SourceTable,
    SourceTableConfig,
    normalize_model_name,
)
from synth_dagster.domain.enums import (
    ConstraintType,
    DomainEnum,
    IfExists,
    ModelEncodingType,
    ModelType,
    RareCategoryReplacementMethod,
)
from synth_dagster.domain.errors import ConfigError, SynthDagsterError
from synth_dagster.domain.progress import (
    ComputeResources,
    JobProgress,
    ProgressStatus,
    ProgressStep,
    ProgressValue,
    StepCode,
    TaskType,
)
from synth_dagster.domain.synthetic import (
    ColumnMap,
    FairnessConfig,
    ImputationConfig,
    Probe,
    RebalancingConfig,
    SyntheticDatasetConfig,
    SyntheticDatasetDelivery,
    SyntheticProbeConfig,
    SyntheticTable,
    SyntheticTableConfig,
    SyntheticTableConfiguration,
    validate_synthetic_config,
)

__all__ = [
    "DEFAULT_LANGUAGE_MODEL",
    "DEFAULT_TABULAR_MODEL",
    "TABULAR_MODELS",
    "ColumnMap",
    "ComputeResources",
    "ConfigError",
    "SynthDagsterError",
    "Constraint",
    "ConstraintConfig",
    "ConstraintType",
    "DifferentialPrivacyConfig",
    "DomainEnum",
    "DomainModel",
    "DomainView",
    "FairnessConfig",
    "FixedCombinations",
    "GeneratorConfig",
    "IfExists",
    "ImputationConfig",
    "Inequality",
    "JobProgress",
    "ModelConfiguration",
    "ModelEncodingType",
    "ModelType",
    "Probe",
    "ProgressStatus",
    "ProgressStep",
    "ProgressValue",
    "RareCategoryReplacementMethod",
    "RebalancingConfig",
    "SourceColumn",
    "SourceColumnConfig",
    "SourceColumnValueRange",
    "SourceForeignKey",
    "SourceForeignKeyConfig",
    "SourceTable",
    "SourceTableConfig",
    "StepCode",
    "SyntheticDatasetConfig",
    "SyntheticDatasetDelivery",
    "SyntheticProbeConfig",
    "SyntheticTable",
    "SyntheticTableConfig",
    "SyntheticTableConfiguration",
    "TaskType",
    "normalize_model_name",
    "validate_synthetic_config",
]


def _reexport(module_name: str) -> None:
    """Re-export the public names of a sibling module owned by another engineer, if it exists yet.

    Uses the module's `__all__`, else the names it defines itself. Names defined here win.
    """
    full_name = f"{__name__}.{module_name}"
    try:
        module = importlib.import_module(full_name)
    except ImportError as exc:
        if not (isinstance(exc, ModuleNotFoundError) and exc.name == full_name):
            # why: a broken sibling must not break the whole domain package, but must not be silent either
            warnings.warn(f"{full_name} could not be imported: {exc}", stacklevel=2)
        return
    names = getattr(module, "__all__", None) or [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == full_name
    ]
    for name in names:
        if name not in globals():
            globals()[name] = getattr(module, name)
            __all__.append(name)


# metrics.py (ModelMetrics, Accuracy, Similarity, Distances) is owned by the QA engineer
_reexport("metrics")
# connectors.py (ConnectorConfig, ConnectorType, ConnectorAccessType) is owned by the connectors engineer
_reexport("connectors")
