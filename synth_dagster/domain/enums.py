"""Enumerations of the configuration vocabulary.

All enums are `str` subclasses (StrEnum), so `ModelEncodingType.TABULAR_CATEGORICAL == "TABULAR_CATEGORICAL"`
and they work as dict keys wherever plain strings are used. Members have UPPER_CASE names; the
reference's lower_case member names exist as aliases (e.g. `ModelEncodingType.tabular_categorical`).
Lookup by value is lenient about case, `-` and `_` ("tabular_categorical", "fixed_combinations").
"""

from __future__ import annotations

from enum import StrEnum


def _norm(text: str) -> str:
    return text.strip().upper().replace("_", "").replace("-", "").replace(" ", "")


class DomainEnum(StrEnum):
    """Base for all domain enums: str-valued (StrEnum prints the bare value), lenient on lookup."""

    @classmethod
    def _missing_(cls, value: object) -> DomainEnum | None:
        # why: users type "tabular_categorical" or "fixedCombinations" in YAML / notebooks
        if isinstance(value, str):
            key = _norm(value)
            for member in cls:
                if _norm(member.value) == key or _norm(member.name) == key:
                    return member
        return None


class ModelType(DomainEnum):
    """The type of model: TABULAR (trained from scratch) or LANGUAGE (built on a language model)."""

    TABULAR = "TABULAR"
    LANGUAGE = "LANGUAGE"

    tabular = "TABULAR"
    language = "LANGUAGE"


class ModelEncodingType(DomainEnum):
    """The encoding type used for model training and data generation."""

    AUTO = "AUTO"
    TABULAR_CATEGORICAL = "TABULAR_CATEGORICAL"
    TABULAR_NUMERIC_AUTO = "TABULAR_NUMERIC_AUTO"
    TABULAR_NUMERIC_DISCRETE = "TABULAR_NUMERIC_DISCRETE"
    TABULAR_NUMERIC_BINNED = "TABULAR_NUMERIC_BINNED"
    TABULAR_NUMERIC_DIGIT = "TABULAR_NUMERIC_DIGIT"
    TABULAR_CHARACTER = "TABULAR_CHARACTER"
    TABULAR_DATETIME = "TABULAR_DATETIME"
    TABULAR_DATETIME_RELATIVE = "TABULAR_DATETIME_RELATIVE"
    TABULAR_LAT_LONG = "TABULAR_LAT_LONG"
    LANGUAGE_TEXT = "LANGUAGE_TEXT"
    LANGUAGE_CATEGORICAL = "LANGUAGE_CATEGORICAL"
    LANGUAGE_NUMERIC = "LANGUAGE_NUMERIC"
    LANGUAGE_DATETIME = "LANGUAGE_DATETIME"

    auto = "AUTO"
    tabular_categorical = "TABULAR_CATEGORICAL"
    tabular_numeric_auto = "TABULAR_NUMERIC_AUTO"
    tabular_numeric_discrete = "TABULAR_NUMERIC_DISCRETE"
    tabular_numeric_binned = "TABULAR_NUMERIC_BINNED"
    tabular_numeric_digit = "TABULAR_NUMERIC_DIGIT"
    tabular_character = "TABULAR_CHARACTER"
    tabular_datetime = "TABULAR_DATETIME"
    tabular_datetime_relative = "TABULAR_DATETIME_RELATIVE"
    tabular_lat_long = "TABULAR_LAT_LONG"
    language_text = "LANGUAGE_TEXT"
    language_categorical = "LANGUAGE_CATEGORICAL"
    language_numeric = "LANGUAGE_NUMERIC"
    language_datetime = "LANGUAGE_DATETIME"

    @property
    def model_type(self) -> ModelType | None:
        """Which model handles this column; None for AUTO (decided by the analysis, always TABULAR)."""
        if self.value.startswith("TABULAR_"):
            return ModelType.TABULAR
        if self.value.startswith("LANGUAGE_"):
            return ModelType.LANGUAGE
        return None

    @property
    def is_language(self) -> bool:
        return self.model_type is ModelType.LANGUAGE

    @property
    def is_numeric(self) -> bool:
        return "_NUMERIC" in self.value

    @property
    def is_datetime(self) -> bool:
        return "_DATETIME" in self.value

    @property
    def is_categorical(self) -> bool:
        return self.value.endswith("_CATEGORICAL")


class RareCategoryReplacementMethod(DomainEnum):
    """How rare categories are sampled (only with value protection): `_RARE_` token or a frequent sample."""

    CONSTANT = "CONSTANT"
    SAMPLE = "SAMPLE"

    constant = "CONSTANT"
    sample = "SAMPLE"


class ConstraintType(DomainEnum):
    """The type of constraint.

    - `FixedCombinations`: only value combinations seen in the training data (`table_name`, `columns`).
    - `Inequality`: `low_column <= high_column` row-wise (`table_name`, `lowColumn`, `highColumn`).
    """

    FIXED_COMBINATIONS = "FixedCombinations"
    INEQUALITY = "Inequality"

    fixed_combinations = "FixedCombinations"
    inequality = "Inequality"


class IfExists(DomainEnum):
    """What to do when a write target exists: APPEND to it, REPLACE it, or FAIL."""

    APPEND = "APPEND"
    REPLACE = "REPLACE"
    FAIL = "FAIL"

    append = "APPEND"
    fail = "FAIL"
    # no lower-case `replace` alias: it would shadow str.replace on every member
