"""AUTO detection of column encodings on raw data, and the conversions around the encoders.

Raw frames come as users load them (e.g. from CSV): numbers, booleans, categories, date strings,
"lat, long" strings, ID-like strings. Each column gets a ColumnPlan recording its encoding, how to
bring it into the encoder's space (e.g. parse date strings, drop a time zone) and how to restore the
original dtype and format afterwards.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Iterator
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
# Below this many rows the character model has too few strings to learn names from (a 93-row cars
# table's `Make` came out as made-up words): without value protection such a column is categorical,
# its real values drawn as they are. With protection a value held by one record must not come
# back, so a mostly-unique column stays with the character model.
SMALL_TABLE_ROWS = 1000
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
    # How strings are written back: see DatetimeStyle (date strings) and `wrapped` (lat/long).
    text_style: dict[str, Any] = field(default_factory=dict)

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


# Formats tried on every column of strings, most common first: on a tie (e.g. every day and month
# <= 12) the earlier one wins, so month-first beats day-first as in pandas. Guesses from the values
# themselves (month names, ...) are tried after these.
_DATE_PARTS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%y",
)
_TIME_PARTS = ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p")
_PROBE_SIZE = 20
_PROBE_SHARE = 0.8
_TWO_NUMBERS = r"\d+\D+\d+"
_OFFSET_TEXT = re.compile(r"(Z|[+-]\d{2}:?\d{2})\s*$")
_FRACTION_TEXT = re.compile(r":\d{2}[.,](\d+)")
_UNPADDED = {"%m": "%-m", "%d": "%-d", "%H": "%-H", "%I": "%-I"}


def _candidate_formats(sample: pd.Series) -> Iterator[str]:
    for date in _DATE_PARTS:
        yield date
        seps = (" ", "T") if date.startswith("%Y") else (" ",)
        for time in _TIME_PARTS:
            for sep in seps:
                yield f"{date}{sep}{time}"
                if date.startswith("%Y") and "%p" not in time:
                    yield f"{date}{sep}{time}%z"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in sample.iloc[:5]:
            for dayfirst in (False, True):
                guess = guess_datetime_format(value, dayfirst=dayfirst)
                # Only full dates: "2020" or "12:30" alone are better left to other encodings.
                if guess and "%d" in guess and re.search("%[mbB]", guess) and re.search("%[Yy]", guess):
                    yield guess


def _probe_share(probe: list[str], fmt: str) -> float:
    """Share of a few values that the standard library parses with fmt (fast pre-filter)."""
    hits = 0
    for value in probe:
        try:
            _dt.datetime.strptime(value, fmt)
            hits += 1
        except ValueError:
            pass
    return hits / len(probe)


def _parse(values: pd.Series, fmt: str) -> pd.Series:
    """Date strings -> datetimes; with an offset in the format, aware UTC datetimes (offsets may mix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(values, format=fmt, errors="coerce", utc="%z" in fmt)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")


@dataclass
class DatetimeStyle:
    """How date strings of one column look, so that generated ones look the same.

    `output` is a strftime format (may hold glibc's unpadded %-d), `fraction_digits` the number of
    digits of fractional seconds, `offset` the UTC offset text written after every value ("+01:00",
    "Z") and `offset_minutes` the offset whose wall-clock time the model learns.
    """

    output: str
    fraction_digits: int | None = None
    offset: str | None = None
    offset_minutes: int = 0

    def to_wall_clock(self, parsed: pd.Series) -> pd.Series:
        if getattr(parsed.dtype, "tz", None) is None:
            return parsed
        zone = _dt.timezone(_dt.timedelta(minutes=self.offset_minutes))
        return parsed.dt.tz_convert(zone).dt.tz_localize(None)

    def format(self, dt: pd.Series) -> pd.Series:
        out = self.output.replace("%z", self.offset or "")
        if self.fraction_digits is None or "%f" not in out:
            text = dt.dt.strftime(out)
        else:
            left, right = out.split("%f", 1)
            micro = dt.dt.microsecond.fillna(0).astype("int64") // 10 ** (6 - self.fraction_digits)
            text = dt.dt.strftime(left) + micro.astype(str).str.zfill(self.fraction_digits)
            text = text + dt.dt.strftime(right) if right else text
        return text.astype(object).where(dt.notna(), None)


def _offset_minutes(text: str) -> int:
    if text == "Z":
        return 0
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4])
    return -minutes if text[0] == "-" else minutes


def _style_for(sample: pd.Series, parsed: pd.Series, fmt: str) -> DatetimeStyle:
    """The output style closest to the input strings (offset, fraction digits, zero padding)."""
    style = DatetimeStyle(output=fmt)
    if "%z" in fmt:
        offsets = sample.str.extract(_OFFSET_TEXT, expand=False).dropna()
        style.offset = str(offsets.mode().iloc[0]) if len(offsets) else "+00:00"
        style.offset_minutes = _offset_minutes(style.offset)
    if "%f" in fmt:
        digits = sample.str.extract(_FRACTION_TEXT, expand=False).dropna().str.len()
        style.fraction_digits = int(min(digits.mode().iloc[0], 6)) if len(digits) else 6
    # Zero padding, one field at a time: "3/5/2020 2:03 PM" comes back unpadded.
    ok = parsed.notna()
    head, wall = sample[ok].iloc[:200], style.to_wall_clock(parsed[ok].iloc[:200])

    def matches(s: DatetimeStyle) -> float:
        return float((s.format(wall) == head).mean()) if len(head) else 0.0

    best = matches(style)
    for padded, unpadded in _UNPADDED.items():
        if padded in style.output and best < 1.0:
            trial = DatetimeStyle(**dict(asdict(style), output=style.output.replace(padded, unpadded)))
            score = matches(trial)
            if score > best:
                style, best = trial, score
    return style


def _round_trips(parsed: pd.Series, fmt: str, style: DatetimeStyle) -> bool:
    """Formatting in the chosen style and parsing again gives back the same instants."""
    ok = parsed.notna()
    wall = style.to_wall_clock(parsed[ok])
    again = style.to_wall_clock(_parse(style.format(wall), fmt))
    return bool((again.to_numpy() == wall.to_numpy()).mean() >= MATCH_SHARE) if ok.any() else False


def _datetime_style(sample: pd.Series) -> tuple[str, DatetimeStyle] | None:
    """(parse format, output style) of date strings, when (nearly) all of them parse with one format.

    Every candidate format is tried on the sample and the one that parses the most values wins
    (ties: the earlier candidate), so a day-first column is recognised even when its first values
    have days <= 12.
    """
    sample = sample.str.strip()
    if sample.str.contains(_TWO_NUMBERS, regex=True).mean() < MATCH_SHARE:
        return None
    probe = list(dict.fromkeys(sample.iloc[: _PROBE_SIZE * 5]))[:_PROBE_SIZE]
    best: tuple[float, str, pd.Series] | None = None
    for fmt in dict.fromkeys(_candidate_formats(sample)):
        if _probe_share(probe, fmt) < _PROBE_SHARE:
            continue
        parsed = _parse(sample, fmt)
        share = float(parsed.notna().mean())
        if share >= MATCH_SHARE and (best is None or share > best[0]):
            best = (share, fmt, parsed)
    if best is None:
        return None
    _, fmt, parsed = best
    style = _style_for(sample, parsed, fmt)
    # A format that cannot round-trip (e.g. an offset the output cannot reproduce) is no format.
    return (fmt, style) if _round_trips(parsed, fmt, style) else None


def _datetime_extras(sample: pd.Series) -> dict[str, Any] | None:
    found = _datetime_style(sample)
    if found is None:
        return None
    fmt, style = found
    return {"datetime_format": fmt, "text_style": asdict(style)}


_WRAPPED = re.compile(r"^\s*\((.*)\)\s*$")


def _lat_long_style(sample: pd.Series) -> dict[str, Any] | None:
    """{"wrapped": bool} when (nearly) all values are "lat, long" pairs, bare or as "(lat, long)"."""
    inner = sample.str.extract(_WRAPPED, expand=False)
    wrapped = inner.notna().mean() >= MATCH_SHARE
    text = inner.fillna(sample) if wrapped else sample
    parts = text.str.extract(LAT_LONG_PATTERN)
    lat, lon = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[2], errors="coerce")
    # Pairs outside the globe (e.g. "(0.5, 300)" intervals) are not coordinates.
    valid = lat.abs().le(90) & lon.abs().le(180)
    return {"wrapped": bool(wrapped)} if valid.mean() >= MATCH_SHARE else None


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
    lat_long = _lat_long_style(sample)
    if lat_long is not None:
        return "TABULAR_LAT_LONG", "string", {"text_style": lat_long}
    extras = _datetime_extras(sample)
    if extras is not None:
        return "TABULAR_DATETIME", "datetime_string", extras
    present = values.dropna()
    if len(present) >= ID_LIKE_MIN_ROWS and present.nunique() / len(present) >= ID_LIKE_UNIQUE_SHARE:
        return "TABULAR_CHARACTER", "string", {}
    return "TABULAR_CATEGORICAL", "string", {}


def _name_like_small(values: pd.Series) -> bool:
    """A small table's column of names (most values without digits), not of codes such as INV-12."""
    if len(values) >= SMALL_TABLE_ROWS:
        return False
    return not values.dropna().astype(str).str.contains(r"\d").mean() > 0.5


def source_kind(values: pd.Series) -> str:
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
        if encoding_type == "TABULAR_CHARACTER" and not protect and _name_like_small(values):
            encoding_type = "TABULAR_CATEGORICAL"
    else:
        kind, extras = source_kind(values), {}
        if encoding_type == "TABULAR_DATETIME" and kind == "datetime":
            extras["tz"] = str(values.dtype.tz) if getattr(values.dtype, "tz", None) else None
        elif encoding_type == "TABULAR_DATETIME" and kind == "string":
            found = _datetime_extras(_string_sample(values))
            if found is None:
                raise EngineInputError(
                    f"column {name!r} is set to TABULAR_DATETIME but its values do not parse as dates "
                    f"(e.g. {values.dropna().iloc[0]!r}); convert it with pd.to_datetime or use AUTO"
                )
            kind, extras = "datetime_string", found
        elif encoding_type == "TABULAR_LAT_LONG" and kind == "string":
            extras["text_style"] = _lat_long_style(_string_sample(values)) or {}
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
        if plan.source_kind == "datetime_string" and not ptypes.is_datetime64_any_dtype(values.dtype):
            parsed = _parse(_text(values), plan.datetime_format or "ISO8601")
            return _style(plan).to_wall_clock(parsed)
        dt = pd.to_datetime(values, errors="coerce")
        if getattr(dt.dtype, "tz", None) is not None:
            # Wall-clock time in the column's own zone keeps daily patterns intact.
            dt = dt.dt.tz_convert(plan.tz or "UTC").dt.tz_localize(None)
        return dt
    if plan.encoding_type.startswith("TABULAR_NUMERIC"):
        if plan.source_kind == "bool":
            return values.astype("float64")
        return pd.to_numeric(values, errors="coerce") if not ptypes.is_numeric_dtype(values.dtype) else values
    if plan.encoding_type == "TABULAR_LAT_LONG" and plan.text_style.get("wrapped"):
        text = _text(values)
        return text.str.extract(_WRAPPED, expand=False).fillna(text)
    return values


def _text(values: pd.Series) -> pd.Series:
    """Non-null values as stripped strings, nulls as None."""
    present = values.notna()
    out = pd.Series(None, index=values.index, dtype=object)
    out[present] = values[present].astype(str).str.strip()
    return out


def _style(plan: ColumnPlan) -> DatetimeStyle:
    # Plans saved before text_style existed write back with their parse format.
    if plan.text_style.get("output"):
        return DatetimeStyle(**plan.text_style)
    return DatetimeStyle(output=plan.datetime_format or "%Y-%m-%d %H:%M:%S")


def restore(values: pd.Series, plan: ColumnPlan) -> pd.Series:
    """Decoded values -> the source column's dtype and format."""
    kind = plan.source_kind
    if plan.encoding_type == "TABULAR_DATETIME":
        dt = pd.to_datetime(values)
        if kind == "datetime_string":
            return _style(plan).format(dt).astype(plan.dtype)
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
    if plan.encoding_type == "TABULAR_LAT_LONG" and plan.text_style.get("wrapped"):
        values = values.map(lambda v: None if v is None or v != v else f"({v})")
    if kind == "bool" and values.isna().any() and plan.dtype == "bool":
        return values.astype("boolean")
    try:
        return values.astype(plan.dtype)
    except (TypeError, ValueError):
        return values
