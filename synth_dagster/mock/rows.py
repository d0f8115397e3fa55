"""Row validation: every value coerced to its column's dtype (and allowed values), or the row refused.

`check_row` returns the clean row, whether it needed repairs, and the problems that make it unusable;
the generator regenerates refused rows, so no invalid row is ever returned.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synth_dagster.mock.spec import ColumnSpec

__all__ = ["CheckedRow", "check_row", "coerce_value", "frame_dtypes"]

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


class _Invalid(ValueError):
    pass


@dataclass
class CheckedRow:
    values: dict[str, Any]
    repaired: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_row(
    raw: Any, columns: Mapping[str, ColumnSpec], enums: Mapping[str, list[Any]] | None = None
) -> CheckedRow:
    """The row `raw` (a dict from the model) reduced to `columns`, each value coerced; extra keys are
    dropped (a repair), missing or uncoercible values are problems."""
    if not isinstance(raw, Mapping):
        return CheckedRow({}, problems=[f"a row must be a JSON object, got {type(raw).__name__}"])
    out = CheckedRow({}, repaired=bool(set(raw) - set(columns)))
    for name, column in columns.items():
        if name not in raw:
            out.problems.append(f"{name}: missing")
            continue
        try:
            value, repaired = coerce_value(raw[name], column)
            if enums and name in enums:
                value = _in_enum(value, enums[name])
        except _Invalid as exc:
            out.problems.append(f"{name}: {exc}")
            continue
        out.values[name] = value
        out.repaired = out.repaired or repaired
    return out


def _in_enum(value: Any, allowed: list[Any]) -> Any:
    if value in allowed:
        return value
    text = str(value)
    for candidate in allowed:
        if str(candidate) == text:
            return candidate
    raise _Invalid(f"{value!r} is not one of the candidate keys")


def coerce_value(value: Any, column: ColumnSpec) -> tuple[Any, bool]:
    """`(value as the column's dtype, whether it had to be converted)`; raises on a value that cannot be."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise _Invalid("null")
    if isinstance(value, list | dict):
        raise _Invalid(f"a {type(value).__name__} where a {column.dtype} belongs")
    out = _CONVERTERS[column.dtype](value)
    repaired = not _natural(value, out, column.dtype)
    if column.values is not None:
        out, fixed = _allowed(out, column.values)
        repaired = repaired or fixed
    if column.dtype == "category":
        out = str(out)
    return out, repaired


def _natural(value: Any, out: Any, dtype: str) -> bool:
    """Whether the model gave the value in its JSON form (no conversion worth counting as a repair)."""
    if dtype in ("string", "category"):
        return isinstance(value, str) and value.strip() == out
    if dtype == "integer":
        return type(value) is int
    if dtype == "float":
        return type(value) in (int, float)
    if dtype == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str) and value.strip() == out.isoformat()


def _allowed(value: Any, values: list[Any]) -> tuple[Any, bool]:
    if value in values:
        return value, False
    text = str(value).strip().casefold()
    for v in values:
        if str(v).strip().casefold() == text:
            return v, True
    raise _Invalid(f"{value!r} is not one of {values[:10]!r}")


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid(f"{value!r} is a boolean, not an integer")
    if isinstance(value, int):
        return value
    number = _to_float(value)
    if not number.is_integer():
        raise _Invalid(f"{value!r} is not a whole number")
    return int(number)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid(f"{value!r} is a boolean, not a number")
    try:
        number = float(value.replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise _Invalid(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise _Invalid(f"{value!r} is not a finite number")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid(f"{value!r} is not a boolean")


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise _Invalid(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    try:
        out = dt.datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
    except ValueError:
        raise _Invalid(f"{value!r} is not a datetime (YYYY-MM-DDTHH:MM:SS)") from None
    return out.replace(tzinfo=None) if out.tzinfo is None else out.astimezone(dt.UTC).replace(tzinfo=None)


_CONVERTERS = {
    "string": _to_string,
    "category": _to_string,
    "integer": _to_int,
    "float": _to_float,
    "boolean": _to_bool,
    "date": _to_date,
    "datetime": _to_datetime,
}


def frame_dtypes(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec], generated: set[str]) -> pd.DataFrame:
    """The generated columns of `frame` as pandas dtypes: string, Int64, float64, boolean, category
    (with the spec's values), datetime64 (dates at midnight). Given columns keep their dtypes."""
    out = frame.copy()
    for name in generated:
        column = columns[name]
        series = out[name]
        if column.dtype == "string":
            out[name] = series.astype("string")
        elif column.dtype == "integer":
            out[name] = series.astype("Int64")
        elif column.dtype == "float":
            out[name] = series.astype("float64")
        elif column.dtype == "boolean":
            out[name] = series.astype("boolean")
        elif column.dtype == "category":
            out[name] = pd.Categorical(series, categories=[str(v) for v in column.values or []])
        else:
            out[name] = pd.to_datetime(series)
    return out
