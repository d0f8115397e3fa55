"""Sequence tables (rows under a context foreign key): the network (`network`), its training
batches (`batches`) and the generator that fits and draws whole sequences (`generator`). Relative
columns (anchors and gaps) are an encoding: `engine/encoding/relative.py`."""

from synth_dagster.engine.encoding.relative import GAP_SUFFIX, LAST_SUFFIX, rising_columns
from synth_dagster.engine.sequence.drawing import seed_rows
from synth_dagster.engine.sequence.generator import SEQUENCE_FILE, SEQUENCE_META, SequenceGenerator
from synth_dagster.engine.sequence.network import SequenceContext, ordinal_codes, repeat_sub_columns

__all__ = [
    "GAP_SUFFIX",
    "LAST_SUFFIX",
    "SEQUENCE_FILE",
    "SEQUENCE_META",
    "SequenceContext",
    "SequenceGenerator",
    "ordinal_codes",
    "repeat_sub_columns",
    "rising_columns",
    "seed_rows",
]
