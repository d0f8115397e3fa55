"""Generator-side configuration: source tables, columns, keys, model settings and constraints.

Field names, enum values and defaults follow the reference's Schema Reference. Every model accepts
snake_case field names and the reference's camelCase aliases (`primaryKey`, `lowColumn`, ...), accepts
plain dicts wherever a model is expected, and dumps to JSON without the pandas DataFrames.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema
from pydantic_core.core_schema import ValidationInfo

from synth_dagster.domain.enums import (
    ConstraintType,
    ModelEncodingType,
    ModelType,
    RareCategoryReplacementMethod,
)
from synth_dagster.domain.errors import ConfigError, raise_if_problems, validation_problems
from synth_dagster.domain.metrics import ModelMetrics as _ModelMetrics
from synth_dagster.domain.names import check_name

__all__ = [
    "DEFAULT_LANGUAGE_MODEL",
    "DEFAULT_TABULAR_MODEL",
    "TABULAR_MODELS",
    "Constraint",
    "ConstraintConfig",
    "DifferentialPrivacyConfig",
    "DomainModel",
    "DomainView",
    "FixedCombinations",
    "FrameFieldsMixin",
    "GeneratorConfig",
    "Inequality",
    "ModelConfiguration",
    "SourceColumn",
    "SourceColumnConfig",
    "SourceColumnValueRange",
    "SourceForeignKey",
    "SourceForeignKeyConfig",
    "SourceTable",
    "SourceTableConfig",
    "normalize_model_name",
]


class DomainModel(BaseModel):
    """Base of all configuration models: snake_case names, camelCase aliases, no unknown keys."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        loc_by_alias=False,  # why: error locations name the snake_case fields users see in docs
        protected_namespaces=(),  # why: fields like `model_encoding_type` are reference names
        arbitrary_types_allowed=True,  # why: DataFrames in `data` / `sample_seed_data`
        extra="forbid",  # why: a typo such as `max_epoch` must fail, not be silently ignored
    )


class DomainView(DomainModel):
    """Base of result-side views (what a trained generator reports); tolerant of extra keys."""

    model_config = ConfigDict(extra="ignore")


class FrameFieldsMixin:
    """Equality for models holding DataFrames: frames compare with `DataFrame.equals`.

    why: pydantic's default `==` compares field dicts, and `DataFrame == DataFrame` has no truth value.
    """

    _frame_fields: ClassVar[tuple[str, ...]] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for name in self._frame_fields:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not theirs and (mine is None or theirs is None or not mine.equals(theirs)):
                return False
        return self.model_dump() == other.model_dump()  # type: ignore[attr-defined]  # frames are excluded

    __hash__ = None  # type: ignore[assignment]


def _new_id() -> str:
    return str(uuid.uuid4())


def _preview(names: Iterable[str], limit: int = 12) -> str:
    """`a, b, c, ... (+N more)` for error messages."""
    items = list(names)
    shown = ", ".join(items[:limit])
    return f"{shown}, ... (+{len(items) - limit} more)" if len(items) > limit else shown or "none"


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _summarize(exc: ValidationError) -> str:
    return "; ".join(validation_problems(exc))


# --------------------------------------------------------------------------- models (ModelConfiguration)

TABULAR_MODELS: dict[str, str] = {
    "small": "MOSTLY_AI/Small",
    "medium": "MOSTLY_AI/Medium",
    "large": "MOSTLY_AI/Large",
}
DEFAULT_TABULAR_MODEL = TABULAR_MODELS["medium"]
DEFAULT_LANGUAGE_MODEL = "MOSTLY_AI/LSTMFromScratch-3m"
_LANGUAGE_SHORT_NAMES = {
    "lstm": DEFAULT_LANGUAGE_MODEL,
    DEFAULT_LANGUAGE_MODEL.lower(): DEFAULT_LANGUAGE_MODEL,
}


def normalize_model_name(name: str | None) -> str | None:
    """Canonical model name: "small" / "mostly_ai/small" -> "MOSTLY_AI/Small"; "lstm" -> the LSTM model.

    Other names (Hugging Face ids such as "microsoft/phi-1_5") are kept as given.
    """
    if name is None or not name.strip():
        return None
    text = name.strip()
    key = text.lower()
    for size, canonical in TABULAR_MODELS.items():
        if key in (size, canonical.lower()):
            return canonical
    return _LANGUAGE_SHORT_NAMES.get(key, text)


class DifferentialPrivacyConfig(DomainModel):
    """Differential privacy for training (DP-SGD); if not given, no differential privacy is applied."""

    max_epsilon: float | None = Field(10.0, gt=0.0, le=10000.0)
    delta: float | None = Field(1e-5, gt=0.0, le=1.0)
    # None (unlike the reference's 1.5): calibrated to max_epsilon for a few large-batch epochs
    noise_multiplier: float | None = Field(None, ge=0.0, le=10000.0)
    max_grad_norm: float | None = Field(1.0, ge=0.0, le=10000.0)
    value_protection_epsilon: float | None = Field(1.0, gt=0.0, le=10000.0)


class ModelConfiguration(DomainModel):
    """The training configuration of one model (tabular or language) of a source table.

    Defaults are the reference's. `model` stays None here; SourceTableConfig fills in
    "MOSTLY_AI/Medium" for the tabular and "MOSTLY_AI/LSTMFromScratch-3m" for the language model.
    `max_training_time` is in minutes; None for limits means "no limit".
    """

    model: str | None = None
    max_sample_size: int | None = Field(None, ge=1)
    batch_size: int | None = Field(None, ge=1)
    gradient_accumulation_steps: int | None = Field(None, ge=1)
    max_training_time: float | None = Field(14400.0, ge=0.0)
    max_epochs: float | None = Field(100.0, ge=0.0)
    max_sequence_window: int | None = Field(100, ge=1)
    enable_flexible_generation: bool | None = True
    value_protection: bool | None = True
    # None: CONSTANT (`_RARE_`), except in a string column whose rare values would fill more than a
    # quarter of the rows (a small table's names): there SAMPLE, so the output stays realistic.
    rare_category_replacement_method: RareCategoryReplacementMethod | None = None
    differential_privacy: DifferentialPrivacyConfig | None = None
    compute: str | None = None  # reference: compute resource id; unused here
    enable_model_report: bool | None = True

    @field_validator("model", mode="before")
    @classmethod
    def _normalize_model(cls, value: Any) -> Any:
        return normalize_model_name(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _align_value_protection_epsilon(self) -> ModelConfiguration:
        # why (reference): the value-range budget only exists when value protection is on
        dp = self.differential_privacy
        if dp is not None:
            wanted = (dp.value_protection_epsilon or 1.0) if self.value_protection else None
            if dp.value_protection_epsilon != wanted:
                self.differential_privacy = dp.model_copy(update={"value_protection_epsilon": wanted})
        return self

    @property
    def model_size(self) -> Literal["small", "medium", "large"] | None:
        """ "small" / "medium" / "large" for the tabular models, else None."""
        for size, canonical in TABULAR_MODELS.items():
            if self.model == canonical:
                return size  # type: ignore[return-value]
        return None

    @property
    def model_type(self) -> ModelType | None:
        """TABULAR for the MOSTLY_AI/Small|Medium|Large models, LANGUAGE for any other, None if unset."""
        if self.model is None:
            return None
        return ModelType.TABULAR if self.model_size else ModelType.LANGUAGE


# --------------------------------------------------------------------------- source tables


class SourceColumnConfig(DomainModel):
    """A column of a source table. `model_encoding_type` defaults to AUTO (decided by the analysis)."""

    name: str = Field(min_length=1, max_length=256)
    model_encoding_type: ModelEncodingType = ModelEncodingType.AUTO

    @field_validator("name", mode="after")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        return check_name(value, "column name")

    @field_validator("model_encoding_type", mode="before")
    @classmethod
    def _none_is_auto(cls, value: Any) -> Any:
        return ModelEncodingType.AUTO if value is None else value


class SourceForeignKeyConfig(DomainModel):
    """A foreign key: `column` references the primary key of `referenced_table`.

    `is_context=True` makes the referenced table the context (parent) of this table; at most one
    foreign key per table can be a context relation.
    """

    column: str = Field(min_length=1)
    referenced_table: str = Field(min_length=1)
    is_context: bool
    # Rows whose key matches no parent row (or, for a context key, is empty): FAIL stops training
    # with their count; DROP leaves those rows out; KEEP (non-context keys only) keeps them with an
    # empty key, so generated rows get empty keys at the same rate.
    orphan_handling: Literal["FAIL", "DROP", "KEEP"] = "FAIL"

    @model_validator(mode="after")
    def _keep_needs_non_context(self) -> SourceForeignKeyConfig:
        if self.is_context and self.orphan_handling == "KEEP":
            raise ConfigError(
                f"foreign key '{self.column}': orphan_handling='KEEP' applies to non-context keys only (a "
                "sequence needs its parent row); use 'DROP' or 'FAIL' for a context key"
            )
        return self


_VIEW_ONLY_COLUMN_KEYS = ("id", "included", "value_range", "valueRange")


class SourceTableConfig(FrameFieldsMixin, DomainModel):
    """A source table of a generator: data (a DataFrame) or a connector location, keys, columns, models.

    `columns` is taken from `data` when not given (see `extract_columns_from_data_if_missing`).
    `data` is never serialized.
    """

    _frame_fields = ("data",)

    name: str = Field(min_length=1, max_length=256)
    source_connector_id: str | None = None
    location: str | None = None
    data: SkipJsonSchema[pd.DataFrame | None] = Field(None, exclude=True, repr=False)
    tabular_model_configuration: ModelConfiguration | None = None
    language_model_configuration: ModelConfiguration | None = None
    primary_key: str | None = None
    foreign_keys: list[SourceForeignKeyConfig] | None = None
    # A public lookup table (airports, countries, a product catalogue): kept as it is, not
    # synthesized, so that other tables' non-context keys point at its real rows. Our addition to
    # the reference schema; never use it for data about people.
    is_lookup: bool = False
    columns: list[SourceColumnConfig] | None = None

    @field_validator("name", mode="after")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        return check_name(value, "table name")

    @field_validator("data", mode="before")
    @classmethod
    def _data_is_a_frame(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, pd.DataFrame):
            return value
        table = info.data.get("name", "?")
        raise ConfigError(
            f"table '{table}': data must be a pandas DataFrame, got {type(value).__name__}; "
            "to read from a database or files, set source_connector_id and location instead"
        )

    @field_validator("columns", mode="before")
    @classmethod
    def _columns_as_configs(cls, value: Any) -> Any:
        # why: accept bare names, and reference-style column views (dropping excluded columns)
        if not isinstance(value, list):
            return value
        result: list[Any] = []
        for item in value:
            if isinstance(item, str):
                result.append({"name": item})
            elif isinstance(item, SourceColumn):
                if item.included is not False:
                    result.append({"name": item.name, "model_encoding_type": item.model_encoding_type})
            elif isinstance(item, dict):
                if item.get("included", True) is not False:
                    result.append({k: v for k, v in item.items() if k not in _VIEW_ONLY_COLUMN_KEYS})
            else:
                result.append(item)
        return result

    @model_validator(mode="after")
    def _validate_table(self) -> SourceTableConfig:
        from_data = self.columns is None and self.data is not None
        self.extract_columns_from_data_if_missing()
        raise_if_problems(self._column_and_key_problems(from_data) + self._model_problems())
        self._add_default_model_configurations()
        return self

    def extract_columns_from_data_if_missing(self) -> SourceTableConfig:
        """Take the column list (all AUTO) from `data` when `columns` was not given."""
        if self.columns is None and self.data is not None:
            self.columns = [SourceColumnConfig(name=str(c)) for c in self.data.columns]
        return self

    # --- views used by validation and by the engine

    @property
    def column_names(self) -> list[str] | None:
        """Column names, or None when unknown (no `columns` and no `data`, e.g. a connector source)."""
        return None if self.columns is None else [c.name for c in self.columns]

    @property
    def encoding_types(self) -> dict[str, ModelEncodingType] | None:
        return None if self.columns is None else {c.name: c.model_encoding_type for c in self.columns}

    @property
    def key_columns(self) -> set[str]:
        keys = {fk.column for fk in self.foreign_keys or []}
        return keys | {self.primary_key} if self.primary_key else keys

    @property
    def context_foreign_key(self) -> SourceForeignKeyConfig | None:
        return next((fk for fk in self.foreign_keys or [] if fk.is_context), None)

    @property
    def is_subject(self) -> bool:
        """A subject table has no context table (it is generated first, with its own sample size)."""
        return self.context_foreign_key is None

    # --- checks

    def _column_and_key_problems(self, columns_from_data: bool = False) -> list[str]:
        where = f"table '{self.name}'"
        problems: list[str] = []
        names = self.column_names
        for name, count in Counter(names or []).items():
            if count > 1:
                problems.append(
                    f"{where}: data has {count} columns named '{name}'; rename them so column names are unique"
                    if columns_from_data
                    else f"{where}: column '{name}' is listed {count} times in columns; column names must be unique"
                )
        if self.data is not None and names is not None and not columns_from_data:
            data_columns = [str(c) for c in self.data.columns]
            present = set(data_columns)
            missing = [n for n in names if n not in present]
            if missing:
                problems.append(
                    f"{where}: columns {_quoted(missing)} are listed in columns but not present in data "
                    f"(data columns: {_preview(data_columns)}); fix the names or remove them from columns"
                )
        fks = self.foreign_keys or []
        context = [fk.column for fk in fks if fk.is_context]
        if len(context) > 1:
            problems.append(
                f"{where}: foreign keys {_quoted(context)} are all marked is_context=True; a table can have "
                "at most one context foreign key, so set is_context=False on all but one of them"
            )
        for column, count in Counter(fk.column for fk in fks).items():
            if count > 1:
                problems.append(
                    f"{where}: column '{column}' is used by {count} foreign keys; define each foreign key once"
                )
        pk = self.primary_key
        if pk and any(fk.column == pk for fk in fks):
            problems.append(
                f"{where}: column '{pk}' is both the primary_key and a foreign key; a foreign key must use "
                "a different column than the table's own primary key"
            )
        if names is not None:
            known = set(names)
            if pk and pk not in known:
                problems.append(
                    f"{where}: primary_key '{pk}' is not among the table's columns ({_preview(names)}); "
                    f"set primary_key to an existing column or add '{pk}' to columns"
                )
            for fk in fks:
                if fk.column not in known:
                    problems.append(
                        f"{where}: foreign key column '{fk.column}' (referencing '{fk.referenced_table}') is not "
                        f"among the table's columns ({_preview(names)}); fix the column name or add it to columns"
                    )
        return problems

    def _model_problems(self) -> list[str]:
        where = f"table '{self.name}'"
        problems: list[str] = []
        tabular, language = self.tabular_model_configuration, self.language_model_configuration
        if tabular is not None and tabular.model is not None and tabular.model_type is not ModelType.TABULAR:
            problems.append(
                f"{where}: tabular_model_configuration.model '{tabular.model}' is not a tabular model; use "
                f"one of {', '.join(TABULAR_MODELS.values())} (or {', '.join(TABULAR_MODELS)})"
            )
        if language is not None and language.model_type is ModelType.TABULAR:
            problems.append(
                f"{where}: language_model_configuration.model '{language.model}' is a tabular model; use "
                f"'{DEFAULT_LANGUAGE_MODEL}' or a Hugging Face model id such as 'microsoft/phi-1_5'"
            )
        if language is not None and self.columns is not None and not self._language_columns():
            problems.append(
                f"{where}: language_model_configuration is set, but no column has a LANGUAGE_* "
                "model_encoding_type; set model_encoding_type (e.g. 'LANGUAGE_TEXT') on the text columns, "
                "or remove language_model_configuration"
            )
        return problems

    def _language_columns(self) -> list[str]:
        keys = self.key_columns
        return [
            c.name for c in self.columns or [] if c.name not in keys and c.model_encoding_type.is_language
        ]

    def _add_default_model_configurations(self) -> None:
        # why (reference): each table gets the model configurations its columns need, with default models
        keys = self.key_columns
        model_columns = None if self.columns is None else [c for c in self.columns if c.name not in keys]
        has_language = bool(self._language_columns()) or (
            self.columns is None and self.language_model_configuration is not None
        )
        has_tabular = (
            model_columns is None
            or not model_columns
            or any(not c.model_encoding_type.is_language for c in model_columns)
            or self.primary_key is not None
            or self.context_foreign_key is not None
        )
        tabular = self.tabular_model_configuration
        if not has_tabular:
            self.tabular_model_configuration = None
        elif tabular is None:
            self.tabular_model_configuration = ModelConfiguration(model=DEFAULT_TABULAR_MODEL)
        elif tabular.model is None:
            self.tabular_model_configuration = tabular.model_copy(update={"model": DEFAULT_TABULAR_MODEL})
        language = self.language_model_configuration
        if has_language:
            # the language model sees one value at a time: no sequence window
            base = language or ModelConfiguration()
            self.language_model_configuration = base.model_copy(
                update={"model": base.model or DEFAULT_LANGUAGE_MODEL, "max_sequence_window": None}
            )


# --------------------------------------------------------------------------- constraints


class FixedCombinations(DomainModel):
    """Constraint: synthetic rows only use value combinations of `columns` seen in the training data."""

    table_name: str = Field(min_length=1)
    columns: list[str]

    @model_validator(mode="after")
    def _check(self) -> FixedCombinations:
        where = f"FixedCombinations constraint on table '{self.table_name}'"
        dupes = [c for c, n in Counter(self.columns).items() if n > 1]
        if dupes:
            raise ConfigError(f"{where}: columns {_quoted(dupes)} are listed more than once; list each once")
        if len(self.columns) < 2:
            raise ConfigError(
                f"{where}: needs at least 2 columns, got {len(self.columns)} ({_quoted(self.columns)}); "
                "add another column or remove the constraint"
            )
        return self

    @property
    def referenced_columns(self) -> list[str]:
        return list(self.columns)


class Inequality(DomainModel):
    """Constraint: `low_column <= high_column` in every synthetic row (aliases lowColumn / highColumn)."""

    table_name: str = Field(min_length=1)
    low_column: str = Field(min_length=1)
    high_column: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Inequality:
        if self.low_column == self.high_column:
            raise ConfigError(
                f"Inequality constraint on table '{self.table_name}': low_column and high_column are both "
                f"'{self.low_column}'; use two different columns"
            )
        return self

    @property
    def referenced_columns(self) -> list[str]:
        return [self.low_column, self.high_column]


_CONSTRAINT_CLASSES: dict[ConstraintType, type[FixedCombinations] | type[Inequality]] = {
    ConstraintType.FIXED_COMBINATIONS: FixedCombinations,
    ConstraintType.INEQUALITY: Inequality,
}


class ConstraintConfig(DomainModel):
    """A constraint to apply during generation: `type` plus its typed `config`.

    Accepts `{"type": "Inequality", "config": {"table_name": ..., "lowColumn": ..., "highColumn": ...}}`,
    or a bare `FixedCombinations(...)` / `Inequality(...)` instance (the type is then inferred).
    """

    type: ConstraintType
    config: FixedCombinations | Inequality

    @model_validator(mode="before")
    @classmethod
    def _typed_config(cls, data: Any) -> Any:
        if isinstance(data, FixedCombinations | Inequality):
            data = {"config": data}
        if not isinstance(data, dict):
            return data
        data = dict(data)
        config = data.get("config")
        if data.get("type") is None:
            for ctype, klass in _CONSTRAINT_CLASSES.items():
                if isinstance(config, klass):
                    data["type"] = ctype
            return data
        try:
            ctype = ConstraintType(data["type"])
        except ValueError:
            return data  # pydantic reports the invalid type with the allowed values
        klass = _CONSTRAINT_CLASSES[ctype]
        if isinstance(config, dict):
            try:
                data["config"] = klass.model_validate(config)
            except ValidationError as exc:
                raise ConfigError(f"{ctype.value} constraint config is invalid: {_summarize(exc)}") from None
        elif isinstance(config, BaseModel) and not isinstance(config, klass):
            raise ConfigError(
                f"constraint type '{ctype.value}' does not match its config ({type(config).__name__}); "
                f"pass a {klass.__name__} config or change the type"
            )
        return data

    @property
    def table_name(self) -> str:
        return self.config.table_name

    @property
    def columns(self) -> list[str]:
        return self.config.referenced_columns


class Constraint(ConstraintConfig):
    """A constraint as stored with a generator (result view, with an id)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=_new_id)


# --------------------------------------------------------------------------- generator


class GeneratorConfig(DomainModel):
    """The configuration for training a generator: tables, their relations, and constraints.

    Validation across tables happens here (unique names, foreign keys, context cycles, constraints);
    each problem message names the table and field and says how to fix it.
    """

    name: str | None = None
    description: str | None = None
    random_state: int | None = None
    tables: list[SourceTableConfig] | None = None
    constraints: list[ConstraintConfig] | None = None

    @model_validator(mode="after")
    def _validate_generator(self) -> GeneratorConfig:
        problems = self._table_name_problems()
        if not problems:  # relation checks need unambiguous table names
            problems += self._relation_problems() + self._constraint_problems()
        raise_if_problems(problems)
        return self

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables or []]

    def get_table(self, name: str) -> SourceTableConfig:
        for table in self.tables or []:
            if table.name == name:
                return table
        raise KeyError(f"no table '{name}' in this generator config (tables: {_preview(self.table_names)})")

    def _table_name_problems(self) -> list[str]:
        return [
            f"table name '{name}' is used by {count} tables; table names must be unique within a generator, "
            "so rename all but one of them"
            for name, count in Counter(self.table_names).items()
            if count > 1
        ]

    def _relation_problems(self) -> list[str]:
        tables = {t.name: t for t in self.tables or []}
        problems: list[str] = []
        for table in tables.values():
            for fk in table.foreign_keys or []:
                ref = tables.get(fk.referenced_table)
                prefix = f"table '{table.name}': foreign key '{fk.column}' references table '{fk.referenced_table}'"
                if ref is None:
                    problems.append(
                        f"{prefix}, which is not in this generator config (tables: {_preview(tables)}); "
                        f"add a table named '{fk.referenced_table}' or fix referenced_table"
                    )
                elif not ref.primary_key:
                    problems.append(
                        f"{prefix}, which has no primary_key; set primary_key on '{fk.referenced_table}'"
                    )
        for table in tables.values():
            if table.is_lookup and table.foreign_keys:
                problems.append(
                    f"table '{table.name}' is a lookup table (is_lookup=True), which is kept as it is and "
                    "cannot have foreign keys of its own; remove them or set is_lookup=False"
                )
            for fk in table.foreign_keys or []:
                ref = tables.get(fk.referenced_table)
                if fk.is_context and ref is not None and ref.is_lookup:
                    problems.append(
                        f"table '{table.name}': context foreign key '{fk.column}' references the lookup table "
                        f"'{ref.name}'; a lookup table can only be referenced by non-context keys "
                        "(is_context=False)"
                    )
        problems += self._context_cycle_problems(tables)
        return problems

    @staticmethod
    def _context_cycle_problems(tables: dict[str, SourceTableConfig]) -> list[str]:
        parent = {
            name: fk.referenced_table
            for name, t in tables.items()
            if (fk := t.context_foreign_key) is not None and fk.referenced_table in tables
        }
        problems: list[str] = []
        seen_cycles: set[frozenset[str]] = set()
        for start in parent:
            path = [start]
            node = parent.get(start)
            while node is not None and node not in path:
                path.append(node)
                node = parent.get(node)
            if node is None:
                continue
            cycle = path[path.index(node) :]
            if frozenset(cycle) in seen_cycles:
                continue
            seen_cycles.add(frozenset(cycle))
            problems.append(
                f"context foreign keys form a cycle: {' -> '.join([*cycle, node])} (each arrow points from a "
                "table to its context table); a table cannot be its own context, so set is_context=False on "
                "one of these foreign keys"
            )
        return problems

    def validate_constraints(self) -> list[str]:
        """Problems with the constraints: unknown tables or columns, key columns, overlapping columns."""
        return self._constraint_problems()

    def _constraint_problems(self) -> list[str]:
        tables = {t.name: t for t in self.tables or []}
        problems: list[str] = []
        used_by: dict[tuple[str, str], int] = {}
        for idx, constraint in enumerate(self.constraints or []):
            tname = constraint.table_name
            label = f"constraints[{idx}] ({constraint.type.value} on table '{tname}')"
            table = tables.get(tname)
            if table is None:
                problems.append(
                    f"{label}: table '{tname}' is not in this generator config (tables: {_preview(tables)}); "
                    "fix table_name"
                )
                continue
            encodings = table.encoding_types
            for column in constraint.columns:
                if encodings is not None and column not in encodings:
                    problems.append(
                        f"{label}: column '{column}' is not a column of table '{tname}' "
                        f"(columns: {_preview(encodings)}); fix the column name"
                    )
                    continue
                problems += self._constraint_column_problems(label, table, constraint, column)
                first = used_by.setdefault((tname, column), idx)
                if first != idx:
                    problems.append(
                        f"column '{column}' of table '{tname}' is used by constraints[{first}] and "
                        f"constraints[{idx}]; a column can take part in at most one constraint, so merge the "
                        "constraints or remove the column from one of them"
                    )
        return problems

    @staticmethod
    def _constraint_column_problems(
        label: str, table: SourceTableConfig, constraint: ConstraintConfig, column: str
    ) -> list[str]:
        if column in table.key_columns:
            return [
                f"{label}: column '{column}' is a primary or foreign key of table '{table.name}'; "
                "constraints can only use non-key columns"
            ]
        encoding = (table.encoding_types or {}).get(column, ModelEncodingType.AUTO)
        if encoding.is_language:
            return [
                f"{label}: column '{column}' has encoding {encoding.value}; constraints apply to tabular "
                "columns only, so use a TABULAR_* encoding or remove the column from the constraint"
            ]
        if (
            constraint.type is ConstraintType.INEQUALITY
            and encoding is not ModelEncodingType.AUTO
            and not (encoding.is_numeric or encoding.is_datetime)
        ):
            return [
                f"{label}: column '{column}' has encoding {encoding.value}; Inequality needs numeric or "
                "datetime columns"
            ]
        return []


# --------------------------------------------------------------------------- result-side views


class SourceColumnValueRange(DomainView):
    """The privacy-safe value range of a column, known after the analysis step."""

    min: str | None = None
    max: str | None = None
    values: list[str] | None = None
    has_null: bool | None = None


class SourceColumn(DomainView):
    """A column of a trained generator's table."""

    id: str = Field(default_factory=_new_id)
    name: str = Field(min_length=1, max_length=256)
    included: bool | None = True
    model_encoding_type: ModelEncodingType = ModelEncodingType.AUTO
    value_range: SourceColumnValueRange | None = None


class SourceForeignKey(DomainView):
    """A foreign key of a trained generator's table."""

    id: str = Field(default_factory=_new_id)
    column: str = Field(min_length=1)
    referenced_table: str = Field(min_length=1)
    is_context: bool


class SourceTable(DomainView):
    """A table of a trained generator, with its models' configurations and quality metrics."""

    id: str = Field(default_factory=_new_id)
    source_connector_id: str | None = None
    location: str | None = None
    name: str = Field(min_length=1, max_length=256)
    primary_key: str | None = None
    columns: list[SourceColumn] | None = None
    foreign_keys: list[SourceForeignKey] | None = None
    tabular_model_metrics: _ModelMetrics | None = None
    language_model_metrics: _ModelMetrics | None = None
    tabular_model_configuration: ModelConfiguration | None = None
    language_model_configuration: ModelConfiguration | None = None
    total_rows: int | None = None

    def to_config(self) -> SourceTableConfig:
        """The writable configuration of this table (included columns only, no ids)."""
        return SourceTableConfig(
            name=self.name,
            source_connector_id=self.source_connector_id,
            location=self.location,
            primary_key=self.primary_key,
            foreign_keys=[
                SourceForeignKeyConfig(
                    column=fk.column, referenced_table=fk.referenced_table, is_context=fk.is_context
                )
                for fk in self.foreign_keys or []
            ]
            or None,
            columns=self.columns,  # type: ignore[arg-type]  # converted by the columns validator
            tabular_model_configuration=self.tabular_model_configuration,
            language_model_configuration=self.language_model_configuration,
        )
