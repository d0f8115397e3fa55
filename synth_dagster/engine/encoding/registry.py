"""Maps an encoding type name to its encoder."""

from __future__ import annotations

from synth_dagster.engine.encoding.base import ColumnEncoder
from synth_dagster.engine.encoding.categorical import CategoricalEncoder
from synth_dagster.engine.encoding.character import CharacterEncoder
from synth_dagster.engine.encoding.datetime import DatetimeEncoder
from synth_dagster.engine.encoding.latlong import LatLongEncoder
from synth_dagster.engine.encoding.numeric import NumericEncoder

_ENCODERS: dict[str, ColumnEncoder] = {
    "TABULAR_CATEGORICAL": CategoricalEncoder(),
    "TABULAR_NUMERIC_AUTO": NumericEncoder(),
    "TABULAR_NUMERIC_DISCRETE": NumericEncoder(),
    "TABULAR_NUMERIC_BINNED": NumericEncoder(),
    "TABULAR_NUMERIC_DIGIT": NumericEncoder(),
    "TABULAR_CHARACTER": CharacterEncoder(),
    "TABULAR_DATETIME": DatetimeEncoder(),
    "TABULAR_LAT_LONG": LatLongEncoder(),
}


def encoder_for(encoding_type: str) -> ColumnEncoder:
    try:
        return _ENCODERS[encoding_type]
    except KeyError:
        supported = ", ".join(sorted(_ENCODERS))
        raise ValueError(
            f"encoding type {encoding_type!r} is not supported by the tabular engine; use one of {supported}"
        ) from None
