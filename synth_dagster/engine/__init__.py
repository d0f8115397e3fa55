"""The synthetic data engine: pure compute over pandas frames and a workspace folder.

Nothing here imports Dagster. Entry points: `train_generator` / `TrainedGenerator` for
config-driven work, `FlatGenerator` for one table.
"""

from synth_dagster.engine.errors import EngineInputError, TrainingCanceled
from synth_dagster.engine.flat import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.multitable import TableSummary, TrainedGenerator, train_generator
from synth_dagster.engine.progress import EngineProgress, ProgressCallback

__all__ = [
    "EngineInputError",
    "EngineProgress",
    "FlatGenerator",
    "FlatOptions",
    "GenerationRequest",
    "ProgressCallback",
    "TableSummary",
    "TrainedGenerator",
    "TrainingCanceled",
    "train_generator",
]
