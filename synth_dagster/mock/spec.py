"""The mock specification: tables with prompts, typed columns, a primary key and foreign keys.

The field names follow the reference's `tables` dictionary:

    {"orders": {"prompt": "...", "columns": {"order_id": {"prompt": "...", "dtype": "string"}, ...},
                "primary_key": "order_id",
                "foreign_keys": [{"column": "customer_id", "referenced_table": "customers",
                                  "prompt": "each customer has 2 to 3 orders"}]}}

The first foreign key of a table that references another table is its *context* key: its rows are
generated per parent row, with the parent row in the prompt. Every other foreign key is a
*non-context* reference: the model picks its value among candidate parent rows. A foreign key to the
table itself (an employee's boss) is a self-reference: it is null or a key of an earlier row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synth_dagster.domain.errors import validation_problems
from synth_dagster.mock.errors import MockSpecError

__all__ = ["DTYPES", "ColumnSpec", "Dtype", "ForeignKeySpec", "MockSpec", "TableSpec", "parse_spec"]

Dtype = Literal["string", "integer", "float", "category", "boolean", "date", "datetime"]
DTYPES: tuple[str, ...] = ("string", "integer", "float", "category", "boolean", "date", "datetime")
KEY_DTYPES = ("integer", "string")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Spec):
    """One column: what it holds (`prompt`), its dtype and, optionally, the only values allowed."""

    prompt: str = ""
    dtype: Dtype = "string"
    values: list[Any] | None = None

    @model_validator(mode="after")
    def _check_values(self) -> ColumnSpec:
        if self.dtype == "category" and not self.values:
            raise ValueError("a category column needs its list of values, e.g. values=['a', 'b']")
        if self.values is not None:
            if len(self.values) == 0:
                raise ValueError("values is an empty list; give the allowed values or leave values out")
            bad = [v for v in self.values if not _fits(v, self.dtype)]
            if bad:
                raise ValueError(f"values {bad[:5]!r} are not of dtype {self.dtype}")
        return self


def _fits(value: Any, dtype: str) -> bool:
    if dtype in ("string", "category"):
        return isinstance(value, str | int | float | bool)
    if dtype == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if dtype == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if dtype == "boolean":
        return isinstance(value, bool)
    if dtype == "date":
        return isinstance(value, dt.date | str)
    return isinstance(value, dt.datetime | str)


class ForeignKeySpec(_Spec):
    """A column whose values are primary keys of `referenced_table`; `prompt` says how many children
    a parent has (for the context key), e.g. "each customer has between 2 and 3 orders"."""

    column: str
    referenced_table: str
    prompt: str | None = None


class TableSpec(_Spec):
    prompt: str = ""
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    primary_key: str | None = None
    foreign_keys: list[ForeignKeySpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_keys(self) -> TableSpec:
        problems = [f"column name {c!r}: {p}" for c in self.columns for p in _name_problems(c)]
        if self.primary_key is not None:
            pk = self.columns.get(self.primary_key)
            if pk is None:
                problems.append(f"primary_key {self.primary_key!r} is not one of the columns")
            elif pk.dtype not in KEY_DTYPES:
                problems.append(
                    f"primary_key {self.primary_key!r} has dtype {pk.dtype}; a key is integer "
                    "(auto-increment 1, 2, 3 ...) or string (generated unique ids)"
                )
        seen: set[str] = set()
        for fk in self.foreign_keys:
            if fk.column not in self.columns:
                problems.append(f"foreign key column {fk.column!r} is not one of the columns")
            if fk.column == self.primary_key:
                problems.append(f"foreign key column {fk.column!r} is also the primary key")
            if fk.column in seen:
                problems.append(f"column {fk.column!r} has two foreign keys; keep one")
            seen.add(fk.column)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def context_key(self, name: str) -> ForeignKeySpec | None:
        """The first foreign key that references another table: rows are generated per parent row."""
        return next((fk for fk in self.foreign_keys if fk.referenced_table != name), None)


def _name_problems(name: str) -> list[str]:
    if not name.strip():
        return ["is empty"]
    if '"' in name or "\n" in name:
        return ["holds a double quote or a line break; rename it (they break the JSON prompts)"]
    return []


class MockSpec(_Spec):
    """All tables of one mock dataset, checked together: references resolve, key dtypes match, no cycles."""

    tables: dict[str, TableSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self) -> MockSpec:
        problems = [f"table name {t!r}: {p}" for t in self.tables for p in _name_problems(t)]
        for name, table in self.tables.items():
            for fk in table.foreign_keys:
                problems.extend(_reference_problems(self, name, fk))
        if problems:
            raise ValueError("; ".join(problems))
        from synth_dagster.mock.plan import table_order  # refuses cycles, naming their tables

        table_order(self)
        return self


def _reference_problems(spec: MockSpec, name: str, fk: ForeignKeySpec) -> list[str]:
    where = f"table {name!r}, foreign key {fk.column!r}"
    parent = spec.tables.get(fk.referenced_table)
    if parent is None:
        known = ", ".join(repr(t) for t in spec.tables)
        return [f"{where}: referenced_table {fk.referenced_table!r} is not a table (tables: {known})"]
    if parent.primary_key is None:
        return [f"{where}: table {fk.referenced_table!r} has no primary_key to reference; set one"]
    pk_dtype = parent.columns[parent.primary_key].dtype
    column = spec.tables[name].columns.get(fk.column)
    if column is not None and column.dtype != pk_dtype:
        return [
            f"{where}: dtype {column.dtype} differs from {fk.referenced_table}.{parent.primary_key} "
            f"({pk_dtype}); give both the same dtype"
        ]
    return []


def parse_spec(tables: MockSpec | Mapping[str, Any]) -> MockSpec:
    """The reference's `tables` dictionary (or a MockSpec, or `{"tables": {...}}`) as a checked MockSpec."""
    if isinstance(tables, MockSpec):
        return tables
    if not isinstance(tables, Mapping):
        raise MockSpecError(f"tables must be a dict of table specifications, got {type(tables).__name__}")
    data = tables if set(tables) == {"tables"} else {"tables": tables}
    try:
        return MockSpec.model_validate(data)
    except ValidationError as exc:
        raise MockSpecError([f"mock spec: {line}" for line in validation_problems(exc)]) from None
