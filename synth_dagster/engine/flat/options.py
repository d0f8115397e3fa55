"""Engine-level settings of one table and of one draw: `FlatOptions` (built once from the domain
config, immutable), `GenerationRequest`, and the training settings they give."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synth_dagster.engine.privacy.settings import DPSettings
from synth_dagster.engine.training import TrainingSettings

VALIDATION_SHARE = 0.1


@dataclass(frozen=True)
class FlatOptions:
    """Engine-level settings for one table (mapped from ModelConfiguration by the sdk)."""

    model_size: str = "medium"
    max_sample_size: int | None = None
    batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    max_epochs: float = 100.0
    max_training_time: float | None = None
    enable_flexible_generation: bool = True
    value_protection: bool = True
    rare_category_replacement_method: str = "AUTO"  # or CONSTANT, SAMPLE; see categorical.py
    random_state: int | None = None
    encoding_types: dict[str, str] = field(default_factory=dict)
    constraints: list[dict[str, Any]] = field(default_factory=list)
    differential_privacy: DPSettings | None = None  # DP-SGD and DP value protection (engine/privacy)
    device: str | None = None  # where the model trains: "auto" (None), "cpu", "cuda[:N]"


@dataclass
class GenerationRequest:
    """What to draw: size or seed, sampling knobs and the flexible-generation features."""

    size: int | None = None
    seed: pd.DataFrame | None = None
    sampling_temperature: float = 1.0
    sampling_top_p: float = 1.0
    rebalancing: Mapping[str, Any] | None = None  # {"column": ..., "probabilities": {...}}
    imputation: Sequence[str] = ()
    fairness: Mapping[str, Any] | None = None  # {"target_column": ..., "sensitive_columns": [...]}
    random_state: int | None = None


def training_settings(options: FlatOptions, random_state: int | None = None) -> TrainingSettings:
    return TrainingSettings(
        max_epochs=options.max_epochs,
        max_training_time=options.max_training_time,
        batch_size=options.batch_size,
        gradient_accumulation_steps=options.gradient_accumulation_steps,
        enable_flexible_generation=options.enable_flexible_generation,
        random_state=options.random_state if random_state is None else random_state,
        device=options.device,
    )
