"""Every field of ModelConfiguration and DifferentialPrivacyConfig changes what the engine is
given, or is refused at `generators.create` (sdk/capabilities.py). Nothing is silently ignored.

A field "changes the outcome" here when changing it from its default changes the engine's
options of the table (FlatOptions, DPSettings); the few fields read outside FlatOptions are
named with the module that reads them. Other configuration models (GeneratorConfig, the synthetic
dataset configs, columns and keys) are not walked yet.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from synth_dagster.domain import ConfigError, DifferentialPrivacyConfig, GeneratorConfig, ModelConfiguration
from synth_dagster.engine.multitable import options as engine_options
from synth_dagster.engine.multitable import sequence_family
from synth_dagster.sdk import capabilities
from synth_dagster.sdk.capabilities import refuse_unsupported_generator
from synth_dagster.sdk.jobs import worker

# a value other than the default for every field
MODEL_CHANGES: dict[str, Any] = {
    "model": "MOSTLY_AI/Small",
    "max_sample_size": 10,
    "batch_size": 8,
    "gradient_accumulation_steps": 2,
    "max_training_time": 1.0,
    "max_epochs": 2.0,
    "max_sequence_window": 5,
    "enable_flexible_generation": False,
    "value_protection": False,
    "rare_category_replacement_method": "SAMPLE",
    "differential_privacy": {"max_epsilon": 5.0},
    "compute": "gpu-1",
    "enable_model_report": False,
}
DP_CHANGES: dict[str, Any] = {
    "max_epsilon": 4.0,
    "delta": 1e-6,
    "noise_multiplier": 0.9,
    "max_grad_norm": 0.5,
    "value_protection_epsilon": 0.5,
}
# fields that the engine's FlatOptions do not carry, and the module that reads them
READ_ELSEWHERE = {"max_sequence_window": sequence_family, "enable_model_report": worker}


def _config(model: dict[str, Any]) -> GeneratorConfig:
    return GeneratorConfig.model_validate(
        {"name": "g", "tables": [{"name": "t", "tabular_model_configuration": model}]}
    )


def _options(model: dict[str, Any]) -> Any:
    config = _config(model)
    return engine_options.base_options(config.tables[0], None, [])


def _refused(model: dict[str, Any]) -> bool:
    try:
        refuse_unsupported_generator(_config(model))
    except ConfigError:
        return True
    return False


def test_every_model_field_is_covered() -> None:
    assert set(MODEL_CHANGES) == set(ModelConfiguration.model_fields)
    assert set(DP_CHANGES) == set(DifferentialPrivacyConfig.model_fields)


@pytest.mark.parametrize("field", sorted(MODEL_CHANGES))
def test_model_field_changes_the_outcome_or_is_refused(field: str) -> None:
    changed = {field: MODEL_CHANGES[field]}
    if _refused(changed):
        return
    if field in READ_ELSEWHERE:
        assert field in inspect.getsource(READ_ELSEWHERE[field])
        return
    assert _options(changed) != _options({}), f"{field} does not reach the engine and is not refused"


@pytest.mark.parametrize("field", sorted(DP_CHANGES))
def test_dp_field_changes_the_outcome_or_is_refused(field: str) -> None:
    base = {"max_epsilon": 5.0}
    changed = {"differential_privacy": base | {field: DP_CHANGES[field]}}
    if _refused(changed):
        return
    before = _options({"differential_privacy": base}).differential_privacy
    after = _options(changed).differential_privacy
    assert after != before, f"differential_privacy.{field} does not reach the engine and is not refused"


def test_compute_is_refused_with_a_message() -> None:
    assert _refused({"compute": "gpu-1"})
    assert "compute" in inspect.getsource(capabilities)
