from __future__ import annotations

import json

import pytest

from synth_dagster.domain import (
    ConstraintType,
    IfExists,
    ModelEncodingType,
    ModelType,
    ProgressStatus,
    RareCategoryReplacementMethod,
    StepCode,
)


def test_str_enums_compare_equal_to_their_values() -> None:
    assert ModelEncodingType.TABULAR_CATEGORICAL == "TABULAR_CATEGORICAL"
    assert isinstance(ModelEncodingType.AUTO, str)
    assert {"TABULAR_NUMERIC_AUTO": 1}[ModelEncodingType.TABULAR_NUMERIC_AUTO] == 1
    assert str(ProgressStatus.DONE) == "DONE"
    assert f"{ProgressStatus.IN_PROGRESS}" == "IN_PROGRESS"
    assert json.dumps({"s": ProgressStatus.DONE}) == '{"s": "DONE"}'


def test_reference_values() -> None:
    assert [e.value for e in ProgressStatus] == [
        "NEW",
        "CONTINUE",
        "ON_HOLD",
        "QUEUED",
        "IN_PROGRESS",
        "DONE",
        "FAILED",
        "CANCELED",
    ]
    assert [e.value for e in ModelEncodingType] == [
        "AUTO",
        "TABULAR_CATEGORICAL",
        "TABULAR_NUMERIC_AUTO",
        "TABULAR_NUMERIC_DISCRETE",
        "TABULAR_NUMERIC_BINNED",
        "TABULAR_NUMERIC_DIGIT",
        "TABULAR_CHARACTER",
        "TABULAR_DATETIME",
        "TABULAR_DATETIME_RELATIVE",
        "TABULAR_LAT_LONG",
        "LANGUAGE_TEXT",
        "LANGUAGE_CATEGORICAL",
        "LANGUAGE_NUMERIC",
        "LANGUAGE_DATETIME",
    ]
    assert [e.value for e in ConstraintType] == ["FixedCombinations", "Inequality"]
    assert [e.value for e in RareCategoryReplacementMethod] == ["CONSTANT", "SAMPLE"]
    assert [e.value for e in IfExists] == ["APPEND", "REPLACE", "FAIL"]
    assert [e.value for e in ModelType] == ["TABULAR", "LANGUAGE"]
    assert StepCode("TRAIN_MODEL") is StepCode.TRAIN_MODEL


def test_reference_lower_case_member_names_are_aliases() -> None:
    assert ModelEncodingType.tabular_categorical is ModelEncodingType.TABULAR_CATEGORICAL
    assert ProgressStatus.continue_ is ProgressStatus.CONTINUE
    assert ConstraintType.fixed_combinations is ConstraintType.FIXED_COMBINATIONS
    assert len(list(ModelEncodingType)) == 14  # aliases are not listed


@pytest.mark.parametrize(
    ("enum", "text", "member"),
    [
        (ModelEncodingType, "tabular_categorical", ModelEncodingType.TABULAR_CATEGORICAL),
        (ModelEncodingType, "Language-Text", ModelEncodingType.LANGUAGE_TEXT),
        (ConstraintType, "fixed_combinations", ConstraintType.FIXED_COMBINATIONS),
        (ConstraintType, "INEQUALITY", ConstraintType.INEQUALITY),
        (ProgressStatus, "in_progress", ProgressStatus.IN_PROGRESS),
    ],
)
def test_lenient_lookup(enum: type, text: str, member: object) -> None:
    assert enum(text) is member


def test_unknown_value_is_rejected() -> None:
    with pytest.raises(ValueError, match="TABULAR_NOPE"):
        ModelEncodingType("TABULAR_NOPE")


def test_encoding_type_helpers() -> None:
    assert ModelEncodingType.LANGUAGE_TEXT.model_type is ModelType.LANGUAGE
    assert ModelEncodingType.TABULAR_LAT_LONG.model_type is ModelType.TABULAR
    assert ModelEncodingType.AUTO.model_type is None
    assert ModelEncodingType.TABULAR_NUMERIC_BINNED.is_numeric
    assert ModelEncodingType.TABULAR_DATETIME_RELATIVE.is_datetime
    assert ModelEncodingType.LANGUAGE_CATEGORICAL.is_categorical
    assert not ModelEncodingType.TABULAR_CHARACTER.is_numeric


def test_progress_status_helpers() -> None:
    assert ProgressStatus.DONE.is_terminal and ProgressStatus.CANCELED.is_terminal
    assert not ProgressStatus.IN_PROGRESS.is_terminal
    assert ProgressStatus.QUEUED.is_active and not ProgressStatus.NEW.is_active


def test_str_methods_still_work_on_members() -> None:
    assert IfExists.REPLACE.replace("RE", "") == "PLACE"
    assert ModelEncodingType.LANGUAGE_TEXT.startswith("LANGUAGE_")
