"""Synthetic-dataset side configuration: what to generate from a trained generator, and where to deliver it.

The synthetic config alone does not know the generator's columns; `validate_synthetic_config` checks it
against a GeneratorConfig or a column map (table -> column -> ModelEncodingType).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core.core_schema import ValidationInfo

from synth_dagster.domain.config import (
    DomainModel,
    DomainView,
    FrameFieldsMixin,
    GeneratorConfig,
    SourceForeignKey,
)
from synth_dagster.domain.enums import IfExists, ModelEncodingType
from synth_dagster.domain.errors import ConfigError, raise_if_problems
from synth_dagster.domain.metrics import ModelMetrics as _ModelMetrics

__all__ = [
    "ColumnMap",
    "FairnessConfig",
    "ImputationConfig",
    "Probe",
    "RebalancingConfig",
    "SyntheticDatasetConfig",
    "SyntheticDatasetDelivery",
    "SyntheticProbeConfig",
    "SyntheticTable",
    "SyntheticTableConfig",
    "SyntheticTableConfiguration",
    "validate_synthetic_config",
]

# tolerance for probabilities that sum to 1 up to float rounding (0.1 + 0.2 + 0.7)
_SUM_TOLERANCE = 1e-9


class RebalancingConfig(DomainModel):
    """Rebalance a categorical column of a subject table to target shares per category.

    Categories not listed share the remaining probability mass in their original proportions.
    """

    column: str = Field(min_length=1)
    probabilities: dict[str, float]

    @field_validator("probabilities", mode="before")
    @classmethod
    def _keys_as_strings(cls, value: Any) -> Any:
        # why: categories arrive as bools or ints from notebooks; the model compares them as strings
        return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value

    @field_validator("probabilities", mode="after")
    @classmethod
    def _check_probabilities(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        where = f"rebalancing column '{info.data.get('column', '?')}'"
        if not value:
            raise ConfigError(
                f"{where}: probabilities is empty; give at least one category, e.g. {{'F': 0.5}}"
            )
        for category, p in value.items():
            if math.isnan(p) or not 0.0 <= p <= 1.0:
                raise ConfigError(
                    f"{where}: probability for '{category}' is {p}; probabilities must be between 0 and 1"
                )
        total = sum(value.values())
        if total > 1.0 + _SUM_TOLERANCE:
            raise ConfigError(
                f"{where}: probabilities sum to {total:g}, but the sum must be at most 1 (the rest is shared "
                "by the categories not listed); lower some of them"
            )
        return value


class ImputationConfig(DomainModel):
    """Impute `columns`: the generated values of these columns are never NULL."""

    columns: list[str]


class FairnessConfig(DomainModel):
    """Statistical parity between `target_column` and `sensitive_columns` (subject tables, categorical)."""

    target_column: str = Field(min_length=1)
    sensitive_columns: list[str]

    @model_validator(mode="after")
    def _check(self) -> FairnessConfig:
        if not self.sensitive_columns:
            raise ConfigError(
                "fairness: sensitive_columns is empty; list at least one sensitive column (e.g. 'gender')"
            )
        if self.target_column in self.sensitive_columns:
            raise ConfigError(
                f"fairness: target column '{self.target_column}' is also listed in sensitive_columns; "
                "remove it from sensitive_columns"
            )
        return self


SeedRecords = list[dict[str, Any]] | dict[str, list[Any]]


class SyntheticTableConfiguration(FrameFieldsMixin, DomainModel):
    """How to sample one synthetic table.

    Seed (conditional simulation): `sample_seed_data` (a DataFrame, not serialized) or
    `sample_seed_dict` (JSON-friendly: records, a dict of column lists, or the reference's base64 JSON
    lines). Without size or seed, datasets get as many subjects as the training data, probes one.
    Deviation: `sampling_top_p` accepts (0, 1]; the reference only accepts [0.9, 1].
    """

    _frame_fields = ("sample_seed_data",)

    sample_size: int | None = None
    sample_seed_connector_id: str | None = None
    sample_seed_dict: SeedRecords | str | None = None
    sample_seed_data: SkipJsonSchema[pd.DataFrame | None] = Field(None, exclude=True, repr=False)
    sampling_temperature: float | None = Field(1.0, ge=0.0, le=2.0)
    sampling_top_p: float | None = Field(1.0, gt=0.0, le=1.0)
    rebalancing: RebalancingConfig | None = None
    imputation: ImputationConfig | None = None
    fairness: FairnessConfig | None = None
    enable_data_report: bool | None = True

    @field_validator("sample_size", mode="after")
    @classmethod
    def _positive_size(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ConfigError(
                f"sample_size must be a positive integer, got {value}; leave it unset to get the default size"
            )
        return value

    @field_validator("sample_seed_data", mode="before")
    @classmethod
    def _seed_as_frame(cls, value: Any) -> Any:
        if value is None or isinstance(value, pd.DataFrame):
            return value
        if isinstance(value, list | dict):
            return pd.DataFrame(value)
        raise ConfigError(
            f"sample_seed_data must be a pandas DataFrame (or records), got {type(value).__name__}; "
            "for a JSON-friendly seed use sample_seed_dict"
        )

    @model_validator(mode="after")
    def _fill_sampling_defaults(self) -> SyntheticTableConfiguration:
        # why (reference): None means "use the default", not "unset"
        if self.sampling_temperature is None:
            self.sampling_temperature = 1.0
        if self.sampling_top_p is None:
            self.sampling_top_p = 1.0
        return self

    @property
    def has_seed(self) -> bool:
        return any(
            x is not None
            for x in (self.sample_seed_data, self.sample_seed_dict, self.sample_seed_connector_id)
        )

    def effective_sample_size(
        self, *, is_subject: bool, training_rows: int | None, is_probe: bool
    ) -> int | None:
        """The number of subjects to generate, following the reference's rules.

        Non-subject tables follow their context (None). A seed decides the size itself (None). Otherwise
        `sample_size`, else one subject for probes and the training size for datasets.
        """
        if not is_subject or (self.sample_size is None and self.has_seed):
            return None
        if self.sample_size is not None:
            return self.sample_size
        return 1 if is_probe else training_rows

    def seed_frame(self) -> pd.DataFrame | None:
        """The seed as a DataFrame, from `sample_seed_data` or `sample_seed_dict`; None without a seed."""
        if self.sample_seed_data is not None:
            return self.sample_seed_data
        seed = self.sample_seed_dict
        if seed is None:
            return None
        if isinstance(seed, str):
            try:
                text = base64.b64decode(seed, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise ConfigError(
                    "sample_seed_dict is a string but not base64-encoded JSON lines; pass records "
                    "(a list of dicts) or a dict of column lists instead"
                ) from exc
            return pd.read_json(io.StringIO(text), lines=True)
        return pd.DataFrame(seed)


class SyntheticTableConfig(DomainModel):
    """A table to generate; `name` matches a source table of the generator."""

    name: str = Field(min_length=1)
    configuration: SyntheticTableConfiguration = Field(default_factory=SyntheticTableConfiguration)

    @field_validator("configuration", mode="before")
    @classmethod
    def _default_configuration(cls, value: Any) -> Any:
        return SyntheticTableConfiguration() if value is None else value


class SyntheticDatasetDelivery(DomainModel):
    """Deliver the synthetic tables to `location` of a destination connector."""

    overwrite_tables: bool
    destination_connector_id: str = Field(min_length=1)
    location: str = Field(min_length=1)

    @property
    def if_exists(self) -> IfExists:
        """The write mode for each table: REPLACE when overwriting, else FAIL."""
        return IfExists.REPLACE if self.overwrite_tables else IfExists.FAIL


def _table_name_problems(tables: list[SyntheticTableConfig] | None) -> list[str]:
    return [
        f"synthetic table '{name}' is configured {count} times; give each table one entry in tables"
        for name, count in Counter(t.name for t in tables or []).items()
        if count > 1
    ]


class _SyntheticTables(DomainModel):
    """Shared by dataset and probe configs: unique table names, lookup by name."""

    if TYPE_CHECKING:  # each subclass declares `tables` itself, so it keeps its place in the field order
        tables: list[SyntheticTableConfig] | None

    @field_validator("tables", mode="after", check_fields=False)
    @classmethod
    def _unique_names(cls, tables: list[SyntheticTableConfig] | None) -> list[SyntheticTableConfig] | None:
        raise_if_problems(_table_name_problems(tables))
        return tables

    def get_table(self, name: str) -> SyntheticTableConfig | None:
        return next((t for t in self.tables or [] if t.name == name), None)

    def table_configuration(self, name: str) -> SyntheticTableConfiguration:
        """The configuration for table `name`, or the default configuration if the table is not listed."""
        table = self.get_table(name)
        return table.configuration if table is not None else SyntheticTableConfiguration()


class SyntheticDatasetConfig(_SyntheticTables):
    """The configuration for generating a synthetic dataset from a generator."""

    generator_id: str | None = None
    name: str | None = None
    description: str | None = None
    random_state: int | None = None
    tables: list[SyntheticTableConfig] | None = None
    delivery: SyntheticDatasetDelivery | None = None
    compute: str | None = None  # reference: compute resource id; unused here


class SyntheticProbeConfig(_SyntheticTables):
    """The configuration for probing a generator for a few synthetic samples (returned, not stored)."""

    generator_id: str | None = None
    random_state: int | None = None
    tables: list[SyntheticTableConfig] | None = None


class SyntheticTable(DomainView):
    """A table of a generated synthetic dataset (result view)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    name: str = Field(min_length=1, max_length=256)
    configuration: SyntheticTableConfiguration | None = None
    tabular_model_metrics: _ModelMetrics | None = None
    language_model_metrics: _ModelMetrics | None = None
    foreign_keys: list[SourceForeignKey] | None = None
    total_rows: int | None = None
    total_datapoints: int | None = None  # deprecated in the reference; always -1 there
    source_table_total_rows: int | None = None


class Probe(DomainView):
    """Probed samples of one table."""

    name: str | None = None
    rows: list[dict[str, Any]] | None = None


# --------------------------------------------------------------------------- validation against a generator

# table -> (column -> encoding) | column names | None (columns unknown)
ColumnMap = Mapping[str, Mapping[str, ModelEncodingType | str] | Sequence[str] | None]

_CATEGORICAL_OK = (ModelEncodingType.AUTO, ModelEncodingType.TABULAR_CATEGORICAL)


@dataclass
class _TableInfo:
    encodings: dict[str, ModelEncodingType] | None  # None: columns unknown, skip column checks
    context_table: str | None = None  # the context (parent) table; None for subject tables or unknown
    flexible: bool | None = None  # enable_flexible_generation of the tabular model; None: unknown


def _layout_of_generator(config: GeneratorConfig) -> dict[str, _TableInfo]:
    layout = {}
    for table in config.tables or []:
        fk = table.context_foreign_key
        model = table.tabular_model_configuration
        layout[table.name] = _TableInfo(
            encodings=table.encoding_types,
            context_table=fk.referenced_table if fk is not None else None,
            flexible=model.enable_flexible_generation if model is not None else None,
        )
    return layout


def _layout_of_column_map(column_map: ColumnMap) -> dict[str, _TableInfo]:
    layout = {}
    for table, columns in column_map.items():
        if columns is None:
            layout[table] = _TableInfo(encodings=None)
        elif isinstance(columns, Mapping):
            encodings = {}
            for column, encoding in columns.items():
                try:
                    encodings[column] = ModelEncodingType(encoding)
                except ValueError:
                    raise ConfigError(
                        f"column map: table '{table}', column '{column}': unknown encoding type {encoding!r}; "
                        f"use one of {', '.join(e.value for e in ModelEncodingType)}"
                    ) from None
            layout[table] = _TableInfo(encodings=encodings)
        else:
            layout[table] = _TableInfo(encodings=dict.fromkeys(columns, ModelEncodingType.AUTO))
    return layout


def validate_synthetic_config(
    generator_config_or_column_map: GeneratorConfig | ColumnMap,
    synthetic_config: SyntheticDatasetConfig | SyntheticProbeConfig | Mapping[str, Any],
) -> SyntheticDatasetConfig | SyntheticProbeConfig:
    """Check a synthetic dataset / probe config against the generator's tables and columns.

    `generator_config_or_column_map` is a GeneratorConfig, or a mapping table -> {column: encoding type}
    (the encodings resolved by training), table -> [column names], or table -> None (columns unknown).
    Returns the (parsed) synthetic config; raises ConfigError listing every problem found.
    """
    if isinstance(synthetic_config, Mapping):
        synthetic_config = SyntheticDatasetConfig.model_validate(synthetic_config)
    if isinstance(generator_config_or_column_map, GeneratorConfig):
        layout = _layout_of_generator(generator_config_or_column_map)
    else:
        layout = _layout_of_column_map(generator_config_or_column_map)
    problems: list[str] = []
    for table in synthetic_config.tables or []:
        info = layout.get(table.name)
        if info is None:
            problems.append(
                f"synthetic table '{table.name}' is not a table of the generator "
                f"(tables: {', '.join(layout) or 'none'}); use one of these names"
            )
            continue
        problems += _synthetic_table_problems(table, info)
    raise_if_problems(problems)
    return synthetic_config


def _synthetic_table_problems(table: SyntheticTableConfig, info: _TableInfo) -> list[str]:
    where = f"synthetic table '{table.name}'"
    cfg = table.configuration
    problems: list[str] = []
    features = {
        "rebalancing": cfg.rebalancing is not None,
        "imputation": cfg.imputation is not None,
        "fairness": cfg.fairness is not None,
        "a sample seed": cfg.has_seed,
    }
    if info.context_table is not None:
        for feature in ("rebalancing", "fairness"):
            if features[feature]:
                problems.append(
                    f"{where}: {feature} only applies to subject tables, but '{table.name}' has the context "
                    f"table '{info.context_table}'; configure {feature} on a subject table instead"
                )
    if info.flexible is False:
        for feature, present in features.items():
            if present:
                problems.append(
                    f"{where}: {feature} needs a generator trained with enable_flexible_generation=True; "
                    f"retrain with tabular_model_configuration.enable_flexible_generation=True or remove {feature}"
                )
    if info.encodings is not None:
        problems += _column_problems(where, cfg, info.encodings)
    return problems


def _column_problems(
    where: str, cfg: SyntheticTableConfiguration, encodings: dict[str, ModelEncodingType]
) -> list[str]:
    problems: list[str] = []
    columns = ", ".join(encodings) or "none"

    def check(role: str, column: str, categorical_for: str | None = None) -> None:
        if column not in encodings:
            problems.append(
                f"{where}: {role} column '{column}' is not a column of the table (columns: {columns}); "
                "fix the column name"
            )
        elif categorical_for and encodings[column] not in _CATEGORICAL_OK:
            problems.append(
                f"{where}: {role} column '{column}' has encoding {encodings[column].value}; {categorical_for} "
                "only works on "
                f"categorical columns, so pick a TABULAR_CATEGORICAL column or train with "
                f"model_encoding_type='TABULAR_CATEGORICAL' for '{column}'"
            )

    if cfg.rebalancing is not None:
        check("rebalancing", cfg.rebalancing.column, "rebalancing")
    if cfg.imputation is not None:
        for column in cfg.imputation.columns:
            check("imputation", column)
    if cfg.fairness is not None:
        check("fairness target", cfg.fairness.target_column, "fairness")
        for column in cfg.fairness.sensitive_columns:
            check("fairness sensitive", column, "fairness")
    seed = cfg.sample_seed_data
    if seed is not None:
        for column in seed.columns:
            check("seed", str(column))
    return problems
