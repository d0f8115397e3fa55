"""Configuration fields the reference vocabulary has but this engine cannot apply yet: refused.

The domain models accept the whole reference vocabulary, so that a config written for the
reference validates here. What the engine would silently ignore is refused when a generator or a
synthetic dataset is created, with a message naming the field and what to do instead. Each check
goes away with the feature that makes the field work. Differential privacy is applied (engine/privacy);
what is refused of it is a setting that cannot give a guarantee.
"""

from __future__ import annotations

from pathlib import Path

from synth_dagster.domain import (
    ConfigError,
    GeneratorConfig,
    ModelConfiguration,
    SourceTableConfig,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
)
from synth_dagster.domain.config import DEFAULT_LANGUAGE_MODEL
from synth_dagster.domain.enums import ModelEncodingType
from synth_dagster.engine.device import DEVICE_NAMES, is_device_name


def _model_problems(where: str, mc: ModelConfiguration | None) -> list[str]:
    if mc is None:
        return []
    problems = _privacy_problems(where, mc)
    if not is_device_name(mc.compute):
        problems.append(
            f"{where}.compute: {mc.compute!r} is not a device; compute names the device the table trains "
            f"on ({DEVICE_NAMES}); use one of them or remove the field"
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
    problems += _language_problems(where, table)
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


def _language_problems(where: str, table: SourceTableConfig) -> list[str]:
    """What the language model (engine/language) cannot apply."""
    mc = table.language_model_configuration
    if mc is None:
        return []
    where = f"{where}: language_model_configuration"
    problems = []
    if mc.model not in (None, DEFAULT_LANGUAGE_MODEL):
        problems += _causal_problems(where, table, mc.model)
    if mc.differential_privacy is not None:
        problems.append(
            f"{where}.differential_privacy: the language model does not train with DP-SGD in this version; "
            "remove it (the tabular model's differential_privacy is applied)"
        )
    if mc.compute is not None:
        problems.append(
            f"{where}.compute: compute resources are not selectable in this version; remove the field"
        )
    return problems


def _causal_problems(where: str, table: SourceTableConfig, model: str) -> list[str]:
    """A Hugging Face model must be a local folder (no hub here) and learns one LANGUAGE_TEXT column."""
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        what = "holds no Hugging Face model (no config.json)" if path.is_dir() else "is no local folder"
        return [
            f"{where}.model: {model!r} {what}; the model hub cannot be reached here, so use "
            f"'{DEFAULT_LANGUAGE_MODEL}' or the path of a folder that save_pretrained wrote"
        ]
    encodings = [
        c.model_encoding_type.value for c in table.columns or [] if c.model_encoding_type.is_language
    ]
    if encodings != ["LANGUAGE_TEXT"]:
        return [
            f"{where}.model: a Hugging Face model learns one LANGUAGE_TEXT column here (the grammars of "
            f"LANGUAGE_CATEGORICAL / NUMERIC / DATETIME are compiled for the LSTM's tokenizer); the table has "
            f"{encodings}: use '{DEFAULT_LANGUAGE_MODEL}'"
        ]
    return []


def refuse_unsupported_generator(config: GeneratorConfig) -> None:
    """ConfigError listing every field of a generator config the engine cannot apply."""
    problems = [p for table in config.tables or [] for p in _table_problems(table)]
    if problems:
        raise ConfigError(problems)


def refuse_unsupported_synthetic(config: SyntheticDatasetConfig | SyntheticProbeConfig) -> None:
    """ConfigError listing every field of a synthetic dataset or probe config the engine cannot apply."""
    problems = []
    compute = getattr(config, "compute", None)
    if not is_device_name(compute):
        problems.append(
            f"compute: {compute!r} is not a device; compute names the device the dataset is drawn on "
            f"({DEVICE_NAMES}); use one of them or remove the field"
        )
    for table in config.tables or []:
        if table.configuration.sample_seed_connector_id is not None:
            problems.append(
                f"table '{table.name}': sample_seed_connector_id is not supported in this version; read the "
                "seed yourself and pass it as sample_seed_data (a DataFrame) or sample_seed_dict"
            )
    if problems:
        raise ConfigError(problems)
