"""Configuration fields the reference vocabulary has but this engine cannot apply yet: refused.

The domain models accept the whole reference vocabulary, so that a config written for the
reference validates here. What the engine would silently ignore is refused when a generator or a
synthetic dataset is created, with a message naming the field and what to do instead. Each check
goes away with the feature that makes the field work. Differential privacy is applied (engine/privacy);
what is refused of it is a setting that cannot give a guarantee.
"""

from __future__ import annotations

from synth_dagster.domain import (
    ConfigError,
    GeneratorConfig,
    ModelConfiguration,
    SourceTableConfig,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
)
from synth_dagster.domain.enums import ModelEncodingType


def _model_problems(where: str, mc: ModelConfiguration | None) -> list[str]:
    if mc is None:
        return []
    problems = _privacy_problems(where, mc)
    if mc.compute is not None:
        problems.append(
            f"{where}.compute: compute resources are not selectable in this version (training runs in a "
            "local worker process); remove the field"
        )
    return problems


def _privacy_problems(where: str, mc: ModelConfiguration) -> list[str]:
    """A differential-privacy configuration that could not give what it asks for."""
    dp = mc.differential_privacy
    if dp is None:
        return []
    where = f"{where}.differential_privacy"
    problems = []
    spent_first = dp.value_protection_epsilon or 0.0
    if dp.max_epsilon is not None and dp.max_epsilon <= spent_first:
        problems.append(
            f"{where}: max_epsilon ({dp.max_epsilon}) must exceed value_protection_epsilon ({spent_first}), "
            "which is spent before training and counts towards it; raise max_epsilon or lower "
            "value_protection_epsilon"
        )
    if dp.noise_multiplier == 0:
        problems.append(
            f"{where}.noise_multiplier: 0 adds no noise, so DP-SGD gives no guarantee (ε is infinite); "
            "use a positive value, or leave it unset to have it calibrated to max_epsilon"
        )
    if not dp.max_grad_norm:
        problems.append(
            f"{where}.max_grad_norm: 0 clips every gradient to nothing and the model learns nothing; use a "
            "positive value (1.0 is the default)"
        )
    return problems


def _table_problems(table: SourceTableConfig) -> list[str]:
    where = f"table '{table.name}'"
    problems = _model_problems(f"{where}: tabular_model_configuration", table.tabular_model_configuration)
    tabular = table.tabular_model_configuration
    if table.is_lookup and tabular is not None and tabular.differential_privacy is not None:
        problems.append(
            f"{where}: differential_privacy is set on a lookup table, which is kept as it is (not trained, "
            "its rows come back unchanged); remove it, or set is_lookup=False to synthesize the table"
        )
    language = [c.name for c in table.columns or [] if c.model_encoding_type.is_language]
    if language:
        problems.append(
            f"{where}: columns {language} use LANGUAGE_* encodings, which need the language model (not "
            "available in this version); use TABULAR_CHARACTER or TABULAR_CATEGORICAL for now"
        )
    elif table.language_model_configuration is not None:
        problems.append(
            f"{where}: language_model_configuration is set, but this version has no language model; remove it"
        )
    relative = [
        c.name
        for c in table.columns or []
        if c.model_encoding_type is ModelEncodingType.TABULAR_DATETIME_RELATIVE
    ]
    if relative and table.context_foreign_key is None:
        problems.append(
            f"{where}: columns {relative} use TABULAR_DATETIME_RELATIVE, which encodes a datetime relative "
            "to the previous row of a sequence, and this table has no context foreign key; use "
            "TABULAR_DATETIME (or AUTO), or give the table a context foreign key"
        )
    return problems


def refuse_unsupported_generator(config: GeneratorConfig) -> None:
    """ConfigError listing every field of a generator config the engine cannot apply."""
    problems = [p for table in config.tables or [] for p in _table_problems(table)]
    if problems:
        raise ConfigError(problems)


def refuse_unsupported_synthetic(config: SyntheticDatasetConfig | SyntheticProbeConfig) -> None:
    """ConfigError listing every field of a synthetic dataset or probe config the engine cannot apply."""
    problems = []
    if getattr(config, "compute", None) is not None:
        problems.append(
            "compute: compute resources are not selectable in this version (generation runs in a local "
            "worker process); remove the field"
        )
    for table in config.tables or []:
        if table.configuration.sample_seed_connector_id is not None:
            problems.append(
                f"table '{table.name}': sample_seed_connector_id is not supported in this version; read the "
                "seed yourself and pass it as sample_seed_data (a DataFrame) or sample_seed_dict"
            )
    if problems:
        raise ConfigError(problems)
