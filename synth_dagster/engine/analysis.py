"""AUTO detection of column encodings on raw data, and the conversions around the encoders.

Raw frames come as users load them (e.g. from CSV): numbers, booleans, categories, date strings,
"lat, long" strings, ID-like strings. Each column gets a ColumnPlan recording its encoding, how to
bring it into the encoder's space (e.g. parse date strings, drop a time zone) and how to restore the
original dtype and format afterwards.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pandas.tseries.api import guess_datetime_format

from synth_dagster.engine.encoding import SubColumnSpec, encoder_for
from synth_dagster.engine.encoding.latlong import LAT_LONG_PATTERN
from synth_dagster.engine.errors import EngineInputError

ID_LIKE_UNIQUE_SHARE = 0.9
ID_LIKE_MIN_ROWS = 20
DETECTION_SAMPLE = 5_000
MATCH_SHARE = 0.95


@dataclass
class ColumnPlan:
    name: str
    encoding_type: str
    source_kind: str  # bool | int | float | datetime | datetime_string | string | other
    dtype: str
    tz: str | None = None
    datetime_format: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def sub_columns(self) -> list[SubColumnSpec]:
        return encoder_for(self.encoding_type).sub_columns(self.stats)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnPlan:
        return cls(**data)


def _string_sample(values: pd.Series) -> pd.Series:
    present = values.dropna()
    if len(present) > DETECTION_SAMPLE:
        present = present.sample(DETECTION_SAMPLE, random_state=0)
    return present.astype(str)


def _datetime_format(sample: pd.Series) -> str | None:
    """The strftime format of date strings, when (nearly) all of them parse with it."""
    if not sample.str.contains(r"\d", regex=True).all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt = guess_datetime_format(sample.iloc[0])
        if fmt is None:
            return None
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
    return fmt if parsed.notna().mean() >= MATCH_SHARE else None


def detect(values: pd.Series) -> tuple[str, str, dict[str, Any]]:
    """(encoding type, source kind, extras) for a raw column."""
    dtype = values.dtype
    if ptypes.is_bool_dtype(dtype):
        return "TABULAR_CATEGORICAL", "bool", {}
    if ptypes.is_datetime64_any_dtype(dtype):
        return "TABULAR_DATETIME", "datetime", {"tz": str(dtype.tz) if getattr(dtype, "tz", None) else None}
    if ptypes.is_numeric_dtype(dtype):
        kind = "int" if ptypes.is_integer_dtype(dtype) else "float"
        return "TABULAR_NUMERIC_AUTO", kind, {}
    if isinstance(dtype, pd.CategoricalDtype):
        return "TABULAR_CATEGORICAL", "other", {}
    sample = _string_sample(values)
    if sample.empty:
        return "TABULAR_CATEGORICAL", "string", {}
    if sample.str.match(LAT_LONG_PATTERN.pattern).mean() >= MATCH_SHARE:
        return "TABULAR_LAT_LONG", "string", {}
    fmt = _datetime_format(sample)
    if fmt is not None:
        return "TABULAR_DATETIME", "datetime_string", {"datetime_format": fmt}
    present = values.dropna()
    if len(present) >= ID_LIKE_MIN_ROWS and present.nunique() / len(present) >= ID_LIKE_UNIQUE_SHARE:
        return "TABULAR_CHARACTER", "string", {}
    return "TABULAR_CATEGORICAL", "string", {}


def _source_kind(values: pd.Series) -> str:
    dtype = values.dtype
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_integer_dtype(dtype):
        return "int"
    if ptypes.is_numeric_dtype(dtype):
        return "float"
    if ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype):
        return "string"
    return "other"


def plan_column(
    name: str, values: pd.Series, encoding_type: str, *, protect: bool, options: dict[str, Any]
) -> ColumnPlan:
    """Detect (for AUTO), convert, and analyze one column."""
    if values.isna().all():
        raise EngineInputError(
            f"column {name!r} holds only null values, so nothing can be learned from it; "
            "drop the column or give it values"
        )
    if encoding_type in (None, "AUTO"):
        encoding_type, kind, extras = detect(values)
    else:
        kind, extras = _source_kind(values), {}
        if encoding_type == "TABULAR_DATETIME" and kind == "datetime":
            extras["tz"] = str(values.dtype.tz) if getattr(values.dtype, "tz", None) else None
        elif encoding_type == "TABULAR_DATETIME" and kind == "string":
            fmt = _datetime_format(_string_sample(values))
            if fmt is None:
                raise EngineInputError(
                    f"column {name!r} is set to TABULAR_DATETIME but its values do not parse as dates "
                    f"(e.g. {values.dropna().iloc[0]!r}); convert it with pd.to_datetime or use AUTO"
                )
            kind, extras["datetime_format"] = "datetime_string", fmt
    plan = ColumnPlan(
        name=name, encoding_type=encoding_type, source_kind=kind, dtype=str(values.dtype), **extras
    )
    model_values = to_model_space(values, plan)
    if (
        encoding_type.startswith("TABULAR_NUMERIC")
        and model_values.notna().sum() < values.notna().sum() * 0.99
    ):
        example = values[model_values.isna() & values.notna()].iloc[0]
        raise EngineInputError(
            f"column {name!r} is set to {encoding_type} but holds non-numeric values such as {example!r}; "
            "use TABULAR_CATEGORICAL or AUTO, or clean the column"
        )
    opts = dict(options, encoding_type=encoding_type, string_valued=kind == "string")
    plan.stats = encoder_for(encoding_type).analyze(model_values, protect=protect, options=opts)
    return plan


def to_model_space(values: pd.Series, plan: ColumnPlan) -> pd.Series:
    """Raw column -> what the encoder expects."""
    if plan.encoding_type == "TABULAR_DATETIME":
        if plan.source_kind == "datetime_string":
            return pd.to_datetime(values, format=plan.datetime_format, errors="coerce")
        dt = pd.to_datetime(values, errors="coerce")
        if getattr(dt.dtype, "tz", None) is not None:
            # Wall-clock time in the column's own zone keeps daily patterns intact.
            dt = dt.dt.tz_convert(plan.tz or "UTC").dt.tz_localize(None)
        return dt
    if plan.encoding_type.startswith("TABULAR_NUMERIC"):
        if plan.source_kind == "bool":
            return values.astype("float64")
        return pd.to_numeric(values, errors="coerce") if not ptypes.is_numeric_dtype(values.dtype) else values
    return values


def restore(values: pd.Series, plan: ColumnPlan) -> pd.Series:
    """Decoded values -> the source column's dtype and format."""
    kind = plan.source_kind
    if plan.encoding_type == "TABULAR_DATETIME":
        dt = pd.to_datetime(values)
        if kind == "datetime_string":
            text = dt.dt.strftime(plan.datetime_format).astype(object)
            return text.where(dt.notna(), None).astype(plan.dtype)
        if plan.tz:
            dt = dt.dt.tz_localize(
                plan.tz, ambiguous=np.zeros(len(dt), dtype=bool), nonexistent="shift_forward"
            )
        return dt.astype(plan.dtype)
    if kind == "int":
        numbers = pd.to_numeric(values).round()
        if numbers.isna().any() and not isinstance(
            pd.api.types.pandas_dtype(plan.dtype), pd.api.extensions.ExtensionDtype
        ):
            return numbers.astype("Int64")
        return numbers.astype(plan.dtype)
    if kind == "bool" and values.isna().any() and plan.dtype == "bool":
        return values.astype("boolean")
    try:
        return values.astype(plan.dtype)
    except (TypeError, ValueError):
        return values
