"""Flat tables: options (`options`), the table in model space (`frames`), seeds of a draw
(`seeding`) and the generator that fits, draws, saves and loads one table (`generator`)."""

from synth_dagster.engine.flat.frames import (
    allowed_codes,
    analyze_frame,
    encode_frame,
    exact_counts,
    shape_for,
)
from synth_dagster.engine.flat.generator import META_FILE, WEIGHTS_FILE, FlatGenerator
from synth_dagster.engine.flat.options import (
    VALIDATION_SHARE,
    FlatOptions,
    GenerationRequest,
    training_settings,
)

__all__ = [
    "META_FILE",
    "VALIDATION_SHARE",
    "WEIGHTS_FILE",
    "FlatGenerator",
    "FlatOptions",
    "GenerationRequest",
    "allowed_codes",
    "analyze_frame",
    "encode_frame",
    "exact_counts",
    "shape_for",
    "training_settings",
]
