from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from synth_dagster.domain import (
    ConfigError,
    ConstraintConfig,
    ConstraintType,
    FixedCombinations,
    GeneratorConfig,
    Inequality,
)


def _table(name: str, columns: list[str], pk: str | None = None, fks: list[dict] | None = None) -> dict:
    return {"name": name, "columns": columns, "primary_key": pk, "foreign_keys": fks}


def _context(column: str, table: str) -> dict:
    return {"column": column, "referenced_table": table, "is_context": True}


def test_valid_two_table_config(two_tables: dict) -> None:
    config = GeneratorConfig.model_validate(two_tables)
    assert config.table_names == ["customers", "orders"]
    assert config.get_table("orders").context_foreign_key is not None
    assert config.get_table("customers").is_subject
    with pytest.raises(KeyError, match="no table 'x' in this generator config"):
        config.get_table("x")


def test_generator_defaults() -> None:
    config = GeneratorConfig()
    assert (config.name, config.description, config.random_state, config.tables, config.constraints) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_camel_case_generator(customers: pd.DataFrame) -> None:
    config = GeneratorConfig.model_validate(
        {"randomState": 7, "tables": [{"name": "c", "data": customers, "primaryKey": "id"}]}
    )
    assert config.random_state == 7
    assert config.get_table("c").primary_key == "id"


def test_validation_errors_are_value_errors(customers: pd.DataFrame) -> None:
    # pydantic wraps ConfigError in ValidationError; both are ValueErrors
    with pytest.raises(ValueError, match="table name 'c' is used by 2 tables"):
        GeneratorConfig(tables=[{"name": "c", "data": customers}, {"name": "c", "data": customers}])


def test_duplicate_table_names() -> None:
    with pytest.raises(
        ValidationError,
        match="table name 'a' is used by 2 tables; table names must be unique within a generator",
    ):
        GeneratorConfig(tables=[_table("a", ["x"]), _table("a", ["y"]), _table("b", ["z"])])


def test_foreign_key_to_unknown_table() -> None:
    with pytest.raises(
        ValidationError,
        match="table 'orders': foreign key 'customer_id' references table 'clients', which is not in this "
        "generator config \\(tables: orders\\); add a table named 'clients' or fix referenced_table",
    ):
        GeneratorConfig(tables=[_table("orders", ["customer_id"], fks=[_context("customer_id", "clients")])])


def test_foreign_key_to_table_without_primary_key() -> None:
    with pytest.raises(
        ValidationError,
        match="table 'orders': foreign key 'customer_id' references table 'customers', which has no "
        "primary_key; set primary_key on 'customers'",
    ):
        GeneratorConfig(
            tables=[
                _table("customers", ["id"]),
                _table("orders", ["customer_id"], fks=[_context("customer_id", "customers")]),
            ]
        )


def test_circular_context_relations() -> None:
    with pytest.raises(ValidationError, match="context foreign keys form a cycle: a -> b -> a") as info:
        GeneratorConfig(
            tables=[
                _table("a", ["id", "b_id"], pk="id", fks=[_context("b_id", "b")]),
                _table("b", ["id", "a_id"], pk="id", fks=[_context("a_id", "a")]),
            ]
        )
    assert str(info.value).count("form a cycle") == 1  # reported once, not once per table


def test_longer_cycle_and_self_context() -> None:
    with pytest.raises(ValidationError, match="cycle: a -> b -> c -> a"):
        GeneratorConfig(
            tables=[
                _table("a", ["id", "p"], pk="id", fks=[_context("p", "b")]),
                _table("b", ["id", "p"], pk="id", fks=[_context("p", "c")]),
                _table("c", ["id", "p"], pk="id", fks=[_context("p", "a")]),
            ]
        )
    with pytest.raises(ValidationError, match="cycle: a -> a"):
        GeneratorConfig(tables=[_table("a", ["id", "parent"], pk="id", fks=[_context("parent", "a")])])


def test_non_context_self_reference_is_allowed() -> None:
    fk = {"column": "manager_id", "referenced_table": "staff", "is_context": False}
    config = GeneratorConfig(tables=[_table("staff", ["id", "manager_id"], pk="id", fks=[fk])])
    assert config.get_table("staff").is_subject


def test_chain_of_context_tables_is_fine() -> None:
    GeneratorConfig(
        tables=[
            _table("a", ["id"], pk="id"),
            _table("b", ["id", "a_id"], pk="id", fks=[_context("a_id", "a")]),
            _table("c", ["b_id", "v"], fks=[_context("b_id", "b")]),
        ]
    )


# --------------------------------------------------------------------------- constraints


def test_constraint_dicts_and_camel_case(two_tables: dict) -> None:
    two_tables["constraints"] = [
        {"type": "FixedCombinations", "config": {"table_name": "orders", "columns": ["status", "channel"]}},
        {
            "type": "Inequality",
            "config": {"table_name": "orders", "lowColumn": "price", "highColumn": "max_price"},
        },
    ]
    config = GeneratorConfig.model_validate(two_tables)
    constraints = config.constraints or []
    assert isinstance(constraints[0].config, FixedCombinations)
    assert isinstance(constraints[1].config, Inequality)
    assert constraints[1].config.low_column == "price" and constraints[1].columns == ["price", "max_price"]
    assert constraints[1].type is ConstraintType.INEQUALITY


def test_typed_constraint_instances_infer_the_type(two_tables: dict) -> None:
    two_tables["constraints"] = [
        FixedCombinations(table_name="orders", columns=["status", "channel"]),
        ConstraintConfig(config=Inequality(table_name="orders", low_column="price", high_column="max_price")),
    ]
    config = GeneratorConfig.model_validate(two_tables)
    assert [c.type for c in config.constraints or []] == [
        ConstraintType.FIXED_COMBINATIONS,
        ConstraintType.INEQUALITY,
    ]


def test_inequality_low_equals_high() -> None:
    with pytest.raises(
        ValidationError,
        match="Inequality constraint on table 'orders': low_column and high_column are both 'price'; "
        "use two different columns",
    ):
        ConstraintConfig(
            type="Inequality", config={"table_name": "orders", "lowColumn": "price", "highColumn": "price"}
        )


def test_fixed_combinations_needs_two_columns() -> None:
    with pytest.raises(
        ValidationError,
        match="FixedCombinations constraint on table 'orders': needs at least 2 columns, got 1 \\('status'\\)",
    ):
        ConstraintConfig(type="FixedCombinations", config={"table_name": "orders", "columns": ["status"]})


def test_fixed_combinations_duplicate_columns() -> None:
    with pytest.raises(ValueError, match="columns 'a' are listed more than once"):
        FixedCombinations(table_name="t", columns=["a", "a"])


def test_constraint_config_missing_field() -> None:
    with pytest.raises(
        ValidationError, match="Inequality constraint config is invalid: high_column: Field required"
    ):
        ConstraintConfig(type="Inequality", config={"table_name": "orders", "low_column": "price"})


def test_constraint_type_must_match_config() -> None:
    with pytest.raises(ValidationError, match="constraint type 'Inequality' does not match its config"):
        ConstraintConfig(type="Inequality", config=FixedCombinations(table_name="t", columns=["a", "b"]))


def test_unknown_constraint_type() -> None:
    with pytest.raises(ValidationError, match="FixedCombinations"):
        ConstraintConfig(type="Between", config={"table_name": "t"})


def test_constraint_on_unknown_table(two_tables: dict) -> None:
    two_tables["constraints"] = [
        {"type": "FixedCombinations", "config": {"table_name": "x", "columns": ["a", "b"]}}
    ]
    with pytest.raises(
        ValidationError,
        match="constraints\\[0\\] \\(FixedCombinations on table 'x'\\): table 'x' is not in this generator config",
    ):
        GeneratorConfig.model_validate(two_tables)


def test_constraint_on_unknown_column(two_tables: dict) -> None:
    two_tables["constraints"] = [
        {
            "type": "Inequality",
            "config": {"table_name": "orders", "low_column": "price", "high_column": "maxprice"},
        }
    ]
    with pytest.raises(
        ValidationError,
        match="constraints\\[0\\] \\(Inequality on table 'orders'\\): column 'maxprice' is not a column of "
        "table 'orders' \\(columns: order_id, customer_id, price, max_price, status, channel\\); fix the column name",
    ):
        GeneratorConfig.model_validate(two_tables)


def test_constraint_columns_unchecked_when_columns_unknown() -> None:
    config = GeneratorConfig(
        tables=[{"name": "t", "source_connector_id": "c", "location": "t"}],
        constraints=[FixedCombinations(table_name="t", columns=["a", "b"])],
    )
    assert config.constraints is not None


def test_column_in_two_constraints(two_tables: dict) -> None:
    two_tables["constraints"] = [
        {"type": "FixedCombinations", "config": {"table_name": "orders", "columns": ["status", "price"]}},
        {
            "type": "Inequality",
            "config": {"table_name": "orders", "low_column": "price", "high_column": "max_price"},
        },
    ]
    with pytest.raises(
        ValidationError,
        match="column 'price' of table 'orders' is used by constraints\\[0\\] and constraints\\[1\\]; a column "
        "can take part in at most one constraint",
    ):
        GeneratorConfig.model_validate(two_tables)


def test_constraint_on_key_column(two_tables: dict) -> None:
    two_tables["constraints"] = [FixedCombinations(table_name="orders", columns=["customer_id", "status"])]
    with pytest.raises(
        ValidationError,
        match="column 'customer_id' is a primary or foreign key of table 'orders'; constraints can",
    ):
        GeneratorConfig.model_validate(two_tables)


def test_constraint_on_language_column() -> None:
    with pytest.raises(
        ValidationError, match="column 'text' has encoding LANGUAGE_TEXT; constraints apply to tabular"
    ):
        GeneratorConfig(
            tables=[
                {"name": "t", "columns": ["a", {"name": "text", "model_encoding_type": "LANGUAGE_TEXT"}]}
            ],
            constraints=[FixedCombinations(table_name="t", columns=["a", "text"])],
        )


def test_inequality_needs_numeric_or_datetime() -> None:
    columns = [
        {"name": "lo", "model_encoding_type": "TABULAR_CATEGORICAL"},
        {"name": "hi", "model_encoding_type": "TABULAR_NUMERIC_AUTO"},
    ]
    with pytest.raises(
        ValidationError, match="column 'lo' has encoding TABULAR_CATEGORICAL; Inequality needs numeric"
    ):
        GeneratorConfig(
            tables=[{"name": "t", "columns": columns}],
            constraints=[Inequality(table_name="t", low_column="lo", high_column="hi")],
        )


def test_validate_constraints_method(two_tables: dict) -> None:
    config = GeneratorConfig.model_validate(two_tables)
    assert config.validate_constraints() == []


def test_config_error_collects_problems() -> None:
    error = ConfigError(["first", "second"])
    assert error.problems == ["first", "second"]
    assert str(error) == "first\nsecond"
    assert isinstance(ConfigError("x"), ValueError)
