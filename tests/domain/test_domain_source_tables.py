from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from synth_dagster.domain import (
    DEFAULT_LANGUAGE_MODEL,
    DEFAULT_TABULAR_MODEL,
    ModelConfiguration,
    ModelEncodingType,
    SourceColumn,
    SourceColumnConfig,
    SourceForeignKeyConfig,
    SourceTable,
    SourceTableConfig,
)


def test_columns_are_extracted_from_data(orders: pd.DataFrame) -> None:
    table = SourceTableConfig(name="orders", data=orders)
    assert table.column_names == list(orders.columns)
    assert all(c.model_encoding_type is ModelEncodingType.AUTO for c in table.columns or [])


def test_non_string_column_labels_become_strings() -> None:
    table = SourceTableConfig(name="t", data=pd.DataFrame({0: [1], 1: [2]}))
    assert table.column_names == ["0", "1"]


def test_explicit_columns_win_over_data(orders: pd.DataFrame) -> None:
    table = SourceTableConfig(name="orders", data=orders, columns=[{"name": "price"}, "status"])
    assert table.column_names == ["price", "status"]


def test_column_defaults_and_dicts() -> None:
    assert SourceColumnConfig(name="x").model_encoding_type is ModelEncodingType.AUTO
    assert (
        SourceColumnConfig(name="x", model_encoding_type=None).model_encoding_type is ModelEncodingType.AUTO
    )
    col = SourceColumnConfig.model_validate({"name": "x", "modelEncodingType": "TABULAR_DATETIME"})
    assert col.model_encoding_type is ModelEncodingType.TABULAR_DATETIME


def test_foreign_key_camel_case() -> None:
    fk = SourceForeignKeyConfig.model_validate({"column": "c", "referencedTable": "p", "isContext": True})
    assert (fk.column, fk.referenced_table, fk.is_context) == ("c", "p", True)


def test_table_camel_case_aliases() -> None:
    table = SourceTableConfig.model_validate(
        {
            "name": "t",
            "primaryKey": "id",
            "sourceConnectorId": "conn-1",
            "location": "public.t",
            "tabularModelConfiguration": {"maxEpochs": 3},
        }
    )
    assert table.primary_key == "id" and table.source_connector_id == "conn-1"
    assert table.tabular_model_configuration is not None
    assert table.tabular_model_configuration.max_epochs == 3


def test_excluded_columns_and_column_views_are_accepted() -> None:
    view = SourceColumn(name="b", model_encoding_type="TABULAR_CATEGORICAL")
    table = SourceTableConfig(
        name="t",
        columns=[{"name": "a", "included": True, "id": "x"}, {"name": "gone", "included": False}, view],
    )
    assert table.column_names == ["a", "b"]
    assert table.encoding_types == {"a": "AUTO", "b": "TABULAR_CATEGORICAL"}


def test_data_must_be_a_dataframe() -> None:
    with pytest.raises(ValidationError, match="table 't': data must be a pandas DataFrame, got str"):
        SourceTableConfig(name="t", data="some/path.csv")


def test_default_tabular_model_configuration(orders: pd.DataFrame) -> None:
    table = SourceTableConfig(name="orders", data=orders)
    assert table.tabular_model_configuration is not None
    assert table.tabular_model_configuration.model == DEFAULT_TABULAR_MODEL
    assert table.tabular_model_configuration.model_size == "medium"
    assert table.language_model_configuration is None


def test_given_tabular_configuration_gets_default_model_without_mutating_input() -> None:
    given = ModelConfiguration(max_epochs=5)
    table = SourceTableConfig(name="t", tabular_model_configuration=given)
    assert table.tabular_model_configuration is not None
    assert table.tabular_model_configuration.model == DEFAULT_TABULAR_MODEL
    assert table.tabular_model_configuration.max_epochs == 5
    assert given.model is None


def test_short_model_names() -> None:
    table = SourceTableConfig(name="t", tabular_model_configuration={"model": "large"})
    assert table.tabular_model_configuration is not None
    assert table.tabular_model_configuration.model == "MOSTLY_AI/Large"


def test_language_columns_get_a_language_model_configuration() -> None:
    table = SourceTableConfig(
        name="headlines",
        columns=[
            {"name": "date", "model_encoding_type": "TABULAR_DATETIME"},
            {"name": "text", "model_encoding_type": "LANGUAGE_TEXT"},
        ],
    )
    language = table.language_model_configuration
    assert language is not None
    assert language.model == DEFAULT_LANGUAGE_MODEL
    assert language.max_sequence_window is None  # not applicable to language models
    assert table.tabular_model_configuration is not None


def test_language_only_table_has_no_tabular_model() -> None:
    table = SourceTableConfig(
        name="t",
        columns=[{"name": "text", "model_encoding_type": "LANGUAGE_TEXT"}],
        tabular_model_configuration={"max_epochs": 1},
    )
    assert table.tabular_model_configuration is None
    assert table.language_model_configuration is not None


def test_language_configuration_without_language_columns(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError,
        match="table 'orders': language_model_configuration is set, but no column has a LANGUAGE_\\* "
        "model_encoding_type; set model_encoding_type",
    ):
        SourceTableConfig(name="orders", data=orders, language_model_configuration={"max_epochs": 1})


def test_tabular_model_name_in_language_configuration() -> None:
    with pytest.raises(
        ValidationError,
        match="table 't': language_model_configuration.model 'MOSTLY_AI/Small' is a tabular model",
    ):
        SourceTableConfig(
            name="t",
            columns=[{"name": "text", "model_encoding_type": "LANGUAGE_TEXT"}],
            language_model_configuration={"model": "small"},
        )


def test_language_model_name_in_tabular_configuration() -> None:
    with pytest.raises(
        ValidationError,
        match="table 't': tabular_model_configuration.model 'microsoft/phi-1_5' is not a tabular model; use one of",
    ):
        SourceTableConfig(name="t", tabular_model_configuration={"model": "microsoft/phi-1_5"})


def test_duplicate_columns() -> None:
    with pytest.raises(ValidationError, match="table 't': column 'a' is listed 2 times in columns"):
        SourceTableConfig(name="t", columns=["a", "b", "a"])


def test_columns_missing_from_data(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError, match="table 'orders': columns 'nope' are listed in columns but not present in data"
    ):
        SourceTableConfig(name="orders", data=orders, columns=["price", "nope"])


def test_primary_key_not_among_columns(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError,
        match="table 'orders': primary_key 'id' is not among the table's columns \\(order_id, customer_id, .*\\); "
        "set primary_key to an existing column",
    ):
        SourceTableConfig(name="orders", data=orders, primary_key="id")


def test_foreign_key_column_not_among_columns(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError,
        match="table 'orders': foreign key column 'cust' \\(referencing 'customers'\\) is not among the table's columns",
    ):
        SourceTableConfig(
            name="orders",
            data=orders,
            foreign_keys=[{"column": "cust", "referenced_table": "customers", "is_context": True}],
        )


def test_foreign_key_equal_to_primary_key(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError, match="table 'orders': column 'order_id' is both the primary_key and a foreign key"
    ):
        SourceTableConfig(
            name="orders",
            data=orders,
            primary_key="order_id",
            foreign_keys=[{"column": "order_id", "referenced_table": "customers", "is_context": False}],
        )


def test_two_context_foreign_keys(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError,
        match="table 'orders': foreign keys 'customer_id', 'order_id' are all marked is_context=True; "
        "a table can have at most one context foreign key",
    ):
        SourceTableConfig(
            name="orders",
            data=orders,
            foreign_keys=[
                {"column": "customer_id", "referenced_table": "customers", "is_context": True},
                {"column": "order_id", "referenced_table": "x", "is_context": True},
            ],
        )


def test_same_column_in_two_foreign_keys(orders: pd.DataFrame) -> None:
    with pytest.raises(
        ValidationError, match="table 'orders': column 'customer_id' is used by 2 foreign keys"
    ):
        SourceTableConfig(
            name="orders",
            data=orders,
            foreign_keys=[
                {"column": "customer_id", "referenced_table": "customers", "is_context": True},
                {"column": "customer_id", "referenced_table": "other", "is_context": False},
            ],
        )


def test_all_problems_are_reported_together(orders: pd.DataFrame) -> None:
    with pytest.raises(ValidationError) as info:
        SourceTableConfig(
            name="orders",
            data=orders,
            primary_key="id",
            foreign_keys=[{"column": "cust", "referenced_table": "customers", "is_context": True}],
        )
    text = str(info.value)
    assert "primary_key 'id'" in text and "foreign key column 'cust'" in text


def test_key_columns_may_be_unknown_without_data() -> None:
    table = SourceTableConfig(
        name="orders",
        source_connector_id="c1",
        location="public.orders",
        primary_key="id",
        foreign_keys=[{"column": "customer_id", "referenced_table": "customers", "is_context": True}],
    )
    assert table.columns is None
    assert table.key_columns == {"id", "customer_id"}
    assert table.context_foreign_key is not None and not table.is_subject


def test_data_is_not_in_repr(orders: pd.DataFrame) -> None:
    assert "order_id" not in repr(SourceTableConfig(name="orders", data=orders, columns=["price"]))


def test_source_table_view_to_config() -> None:
    view = SourceTable.model_validate(
        {
            "name": "orders",
            "primaryKey": "id",
            "columns": [
                {"name": "id", "model_encoding_type": "AUTO"},
                {"name": "secret", "included": False, "model_encoding_type": "AUTO"},
                {"name": "price", "model_encoding_type": "TABULAR_NUMERIC_AUTO", "value_range": {"min": "1"}},
            ],
            "foreign_keys": [{"column": "id2", "referenced_table": "x", "is_context": False}],
            "tabular_model_metrics": {"accuracy": {"overall": 0.9}},
            "total_rows": 10,
            "unknown_server_field": 1,
        }
    )
    assert view.id  # generated
    assert view.columns is not None and view.columns[2].value_range is not None
    with pytest.raises(ValidationError, match="foreign key column 'id2'"):
        view.to_config()
    view.foreign_keys = None
    config = view.to_config()
    assert config.column_names == ["id", "price"]
    assert config.primary_key == "id"


def test_duplicate_column_labels_in_data() -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValidationError, match="table 't': data has 2 columns named 'a'; rename them"):
        SourceTableConfig(name="t", data=frame)


def test_equality_compares_frames_by_content(orders: pd.DataFrame) -> None:
    a = SourceTableConfig(name="orders", data=orders)
    assert a == SourceTableConfig(name="orders", data=orders.copy())
    assert a != SourceTableConfig(name="orders", data=orders.head(1))
    assert a != SourceTableConfig(name="orders", columns=list(orders.columns))
