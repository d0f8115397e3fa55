"""The specification, the planner, the parser and the validator, without any model."""

from __future__ import annotations

import datetime as dt

import pytest

from synth_dagster import mock
from synth_dagster.mock.parsing import ParseError, parse_rows
from synth_dagster.mock.plan import children_range
from synth_dagster.mock.rows import check_row
from synth_dagster.mock.schema import batch_schema
from synth_dagster.mock.spec import ColumnSpec


def _table(columns, **kw):
    return {"columns": columns, **kw}


def test_reference_tables_in_key_order(reference_tables):
    spec = mock.parse_spec(dict(reversed(list(reference_tables.items()))))
    order = mock.table_order(spec)
    assert order.index("customers") < order.index("orders") < order.index("items")
    assert order.index("warehouses") < order.index("orders")
    orders = spec.tables["orders"]
    assert orders.context_key("orders").referenced_table == "customers"


def test_cycles_are_refused_naming_the_tables():
    tables = {
        "a": _table(
            {"id": {"dtype": "integer"}, "b_id": {"dtype": "integer"}},
            primary_key="id",
            foreign_keys=[{"column": "b_id", "referenced_table": "b"}],
        ),
        "b": _table(
            {"id": {"dtype": "integer"}, "a_id": {"dtype": "integer"}},
            primary_key="id",
            foreign_keys=[{"column": "a_id", "referenced_table": "a"}],
        ),
    }
    with pytest.raises(mock.MockSpecError, match=r"cycle: a -> b -> a"):
        mock.parse_spec(tables)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (_table({"x": {"dtype": "text"}}), "dtype"),
        (_table({"x": {"dtype": "category"}}), "needs its list of values"),
        (_table({"x": {"dtype": "integer", "values": ["a"]}}), "not of dtype integer"),
        (_table({"x": {"dtype": "string"}}, primary_key="y"), "primary_key 'y' is not one of the columns"),
        (_table({"x": {"dtype": "float"}}, primary_key="x"), "a key is integer"),
        (
            _table({"x": {"dtype": "string"}}, foreign_keys=[{"column": "x", "referenced_table": "nope"}]),
            "referenced_table 'nope' is not a table",
        ),
        (_table({"x": {"dtype": "string", "promt": "typo"}}), "promt: is not a field here"),
        (_table({'a"b': {"dtype": "string"}}), "double quote"),
    ],
)
def test_bad_specs_get_clear_errors(table, message):
    with pytest.raises(mock.MockSpecError, match=message):
        mock.parse_spec({"t": table})


def test_key_dtypes_must_match():
    tables = {
        "p": _table({"id": {"dtype": "integer"}}, primary_key="id"),
        "c": _table(
            {"p_id": {"dtype": "string"}}, foreign_keys=[{"column": "p_id", "referenced_table": "p"}]
        ),
    }
    with pytest.raises(mock.MockSpecError, match="differs from p.id"):
        mock.parse_spec(tables)


def test_sample_size_and_existing_data_are_checked(reference_tables):
    with pytest.raises(mock.MockSpecError, match="not subject tables"):
        mock.generate(tables=reference_tables, sample_size={"orders": 3}, model="x")
    with pytest.raises(mock.MockSpecError, match="whole number"):
        mock.generate(tables=reference_tables, sample_size=0, model="x")
    with pytest.raises(mock.MockSpecError, match="no such table"):
        mock.generate(tables=reference_tables, existing_data={"nope": None}, model="x")
    with pytest.raises(mock.MockSpecError, match="return_type"):
        mock.sample(tables=reference_tables, return_type="frames")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("each customer has anywhere between 2 and 3 orders", (2, 3)),
        ("1-2 items per order", (1, 2)),
        ("each boss has at most 3 employees", (0, 3)),
        ("at least 2", (2, 4)),
        ("exactly 4 rows", (4, 4)),
        (None, (1, 3)),
        ("between 5 and 500", (5, 20)),
    ],
)
def test_children_range(prompt, expected):
    assert children_range(prompt) == expected


def test_parse_rows_repairs_common_breakage():
    assert parse_rows('{"rows": [{"a": 1}]}') == [{"a": 1}]
    assert parse_rows('Here:\n```json\n[{"a": 1,},]\n```') == [{"a": 1}]
    assert parse_rows("{'rows': [{'a': True, 'b': None}]}") == [{"a": True, "b": None}]
    assert parse_rows('{"rows": [{"a": 1}, {"a": 2, "b": "cut') == [{"a": 1}, {"a": 2, "b": "cut"}]
    assert parse_rows('{"customers": [{"a": 1}]}') == [{"a": 1}]
    with pytest.raises(ParseError):
        parse_rows("no json here")


def test_check_row_coerces_or_refuses():
    columns = {
        "n": ColumnSpec(dtype="integer"),
        "f": ColumnSpec(dtype="float"),
        "b": ColumnSpec(dtype="boolean"),
        "d": ColumnSpec(dtype="date"),
        "t": ColumnSpec(dtype="datetime"),
        "c": ColumnSpec(dtype="category", values=["red", "blue"]),
        "s": ColumnSpec(dtype="string"),
    }
    good = check_row(
        {
            "n": "7",
            "f": "1,234.5",
            "b": "yes",
            "d": "2024-02-03T10:00:00",
            "t": "2024-02-03 10:00",
            "c": "Blue",
            "s": 12,
            "extra": 1,
        },
        columns,
    )
    assert good.ok and good.repaired
    assert good.values == {
        "n": 7,
        "f": 1234.5,
        "b": True,
        "d": dt.date(2024, 2, 3),
        "t": dt.datetime(2024, 2, 3, 10, 0),
        "c": "blue",
        "s": "12",
    }
    bad = check_row({"n": 1.5, "f": "x", "b": "maybe", "d": "03/02/2024", "t": None, "c": "green"}, columns)
    assert not bad.ok and len(bad.problems) == 7  # s is missing too
    assert not check_row(["not", "a", "row"], columns).ok


def test_batch_schema_categories_as_enums_and_bounds_for_grammars():
    columns = {
        "c": ColumnSpec(dtype="category", values=["a", "b"]),
        "x": ColumnSpec(dtype="float"),
        "fk": ColumnSpec(dtype="integer"),
    }
    plain = batch_schema(columns, (2, 2), enums={"fk": [1, 5]})
    row = plain["properties"]["rows"]["items"]
    assert row["properties"]["c"] == {"type": "string", "enum": ["a", "b"]}
    assert row["properties"]["fk"] == {"type": "integer", "enum": [1, 5]}
    assert row["required"] == ["c", "x", "fk"] and row["additionalProperties"] is False
    bounded = batch_schema(columns, (1, 3), bounded=True)
    rows = bounded["properties"]["rows"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 3)
    assert rows["items"]["properties"]["x"]["maximum"] == 1_000_000
