"""Column encodings: one module per ModelEncodingType, each with analyze / encode / decode.

Every encoder turns one column into a few small discrete sub-columns (integer codes) that the
tabular model predicts one after the other, and turns sampled codes back into values.
"""

from synth_dagster.engine.encoding.base import ColumnEncoder, SubColumnSpec
from synth_dagster.engine.encoding.registry import encoder_for

__all__ = ["ColumnEncoder", "SubColumnSpec", "encoder_for"]
