"""The JSON schema of one batch's answer: `{"rows": [row, ...]}` with one property per column to fill.

Categories (and any column with `values`) become enums; a non-context foreign key becomes an enum of
its candidate parent keys. `bounded=True` (the local, grammar-constrained route) also bounds string
lengths, numbers, dates and the number of rows, so that even a weak model ends its answer; LLM
providers get the plain schema, whose strict mode rejects some of those keywords.
"""

from __future__ import annotations

from typing import Any

from synth_dagster.mock.spec import ColumnSpec

__all__ = ["DATETIME_PATTERN", "DATE_PATTERN", "batch_schema", "column_schema"]

DATE_PATTERN = r"(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
DATETIME_PATTERN = DATE_PATTERN + r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
# the local route's strings: printable, no quotes or backslashes, so that a weak model stays readable
_TEXT_PATTERN = r"[A-Za-z0-9][A-Za-z0-9 .,:;@&()/+_'-]{0,23}"
_NUMBER_BOUND = 1_000_000
_JSON_TYPES = {
    "string": "string",
    "category": "string",
    "date": "string",
    "datetime": "string",
    "integer": "integer",
    "float": "number",
    "boolean": "boolean",
}


def column_schema(column: ColumnSpec, *, bounded: bool = False) -> dict[str, Any]:
    """The schema of one column's value."""
    out: dict[str, Any] = {}
    if column.prompt:
        out["description"] = column.prompt
    if column.values is not None:
        as_text = column.dtype in ("string", "category", "date", "datetime")
        values = [str(v) if as_text else v for v in column.values]
        return {**out, "type": _JSON_TYPES[column.dtype], "enum": values}
    dtype = column.dtype
    if dtype == "string":
        out["type"] = "string"
        if bounded:
            out["pattern"] = f"^{_TEXT_PATTERN}$"
    elif dtype in ("integer", "float"):
        out["type"] = "integer" if dtype == "integer" else "number"
        if bounded:  # a weak model might write digits forever: bound them (floats to 2 decimals)
            out.update(minimum=-_NUMBER_BOUND, maximum=_NUMBER_BOUND)
            if dtype == "float":
                out["multipleOf"] = 0.01
    elif dtype == "boolean":
        out["type"] = "boolean"
    else:  # date, datetime
        out["type"] = "string"
        if bounded:
            out["pattern"] = f"^{DATE_PATTERN if dtype == 'date' else DATETIME_PATTERN}$"
        else:
            out["description"] = (
                out.get("description", "")
                + " (ISO 8601: "
                + ("YYYY-MM-DD)" if dtype == "date" else "YYYY-MM-DDTHH:MM:SS)")
            ).strip()
    return out


def batch_schema(
    columns: dict[str, ColumnSpec],
    n_rows: tuple[int, int],
    *,
    enums: dict[str, list[Any]] | None = None,
    bounded: bool = False,
) -> dict[str, Any]:
    """`{"rows": [...]}` of `n_rows` (min, max) rows holding exactly `columns`; `enums` narrows a
    column to the listed values (candidate foreign keys)."""
    props = {}
    for name, column in columns.items():
        props[name] = column_schema(column, bounded=bounded)
        if enums and name in enums:
            props[name] = {k: v for k, v in props[name].items() if k in ("description", "type")} | {
                "enum": list(enums[name])
            }
    row = {
        "type": "object",
        "properties": props,
        "required": list(columns),
        "additionalProperties": False,
    }
    rows: dict[str, Any] = {"type": "array", "items": row}
    if bounded:
        rows.update(minItems=n_rows[0], maxItems=n_rows[1])
    return {
        "type": "object",
        "properties": {"rows": rows},
        "required": ["rows"],
        "additionalProperties": False,
    }
