from __future__ import annotations

import pytest
from pydantic import ValidationError

from synth_dagster.domain import (
    DifferentialPrivacyConfig,
    ModelConfiguration,
    ModelType,
    RareCategoryReplacementMethod,
    normalize_model_name,
)


def test_reference_defaults() -> None:
    cfg = ModelConfiguration()
    assert cfg.model is None
    assert cfg.max_sample_size is None
    assert cfg.batch_size is None
    assert cfg.gradient_accumulation_steps is None
    assert cfg.max_training_time == 14400
    assert cfg.max_epochs == 100
    assert cfg.max_sequence_window == 100
    assert cfg.enable_flexible_generation is True
    assert cfg.value_protection is True
    assert cfg.rare_category_replacement_method is None  # CONSTANT, or SAMPLE where rare values dominate
    assert cfg.differential_privacy is None
    assert cfg.compute is None
    assert cfg.enable_model_report is True


def test_differential_privacy_defaults() -> None:
    dp = DifferentialPrivacyConfig()
    assert (dp.max_epsilon, dp.delta, dp.noise_multiplier, dp.max_grad_norm, dp.value_protection_epsilon) == (
        10.0,
        1e-5,
        None,  # the reference's is 1.5; ours is calibrated to max_epsilon (engine/privacy/dpsgd.py)
        1.0,
        1.0,
    )


@pytest.mark.parametrize(
    ("given", "canonical", "size"),
    [
        ("MOSTLY_AI/Small", "MOSTLY_AI/Small", "small"),
        ("medium", "MOSTLY_AI/Medium", "medium"),
        ("LARGE", "MOSTLY_AI/Large", "large"),
        ("mostly_ai/medium", "MOSTLY_AI/Medium", "medium"),
    ],
)
def test_tabular_model_names_are_normalised(given: str, canonical: str, size: str) -> None:
    cfg = ModelConfiguration(model=given)
    assert cfg.model == canonical
    assert cfg.model_size == size
    assert cfg.model_type is ModelType.TABULAR


def test_language_model_names() -> None:
    assert ModelConfiguration(model="lstm").model == "MOSTLY_AI/LSTMFromScratch-3m"
    hf = ModelConfiguration(model="microsoft/phi-1_5")
    assert hf.model == "microsoft/phi-1_5"
    assert hf.model_size is None
    assert hf.model_type is ModelType.LANGUAGE
    assert ModelConfiguration().model_type is None
    assert normalize_model_name("  ") is None


def test_camel_case_aliases_and_enum_strings() -> None:
    cfg = ModelConfiguration.model_validate(
        {
            "maxSampleSize": 1000,
            "maxTrainingTime": 5,
            "rareCategoryReplacementMethod": "sample",
            "batchSize": 64,
        }
    )
    assert (cfg.max_sample_size, cfg.max_training_time, cfg.batch_size) == (1000, 5, 64)
    assert cfg.rare_category_replacement_method is RareCategoryReplacementMethod.SAMPLE


def test_none_means_no_limit() -> None:
    cfg = ModelConfiguration(max_training_time=None, max_epochs=None)
    assert cfg.max_training_time is None and cfg.max_epochs is None


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="max_epoch"):
        ModelConfiguration.model_validate({"max_epoch": 3})


@pytest.mark.parametrize("field", ["max_sample_size", "batch_size", "gradient_accumulation_steps"])
def test_counts_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ModelConfiguration.model_validate({field: 0})


def test_value_protection_epsilon_follows_value_protection() -> None:
    dp = DifferentialPrivacyConfig(value_protection_epsilon=2.0)
    off = ModelConfiguration(value_protection=False, differential_privacy=dp)
    assert off.differential_privacy is not None
    assert off.differential_privacy.value_protection_epsilon is None
    assert dp.value_protection_epsilon == 2.0  # the caller's object is untouched
    on = ModelConfiguration(differential_privacy={"value_protection_epsilon": None})
    assert on.differential_privacy is not None
    assert on.differential_privacy.value_protection_epsilon == 1.0


def test_differential_privacy_ranges() -> None:
    with pytest.raises(ValidationError, match="delta"):
        DifferentialPrivacyConfig(delta=2.0)
    with pytest.raises(ValidationError, match="maxEpsilon|max_epsilon"):
        DifferentialPrivacyConfig(max_epsilon=0)
