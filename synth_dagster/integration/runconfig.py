"""Run config of the training and generation ops: per-run overrides of the declaration.

In the UI's launchpad, or in code:
`run_config={"ops": {"flights_generate": {"config": {"size": 500, "random_state": 7}}}}`.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field

__all__ = ["GenerateRunConfig", "TrainRunConfig"]


class TrainRunConfig(dg.Config):
    """Overrides for one training run."""

    max_training_time: float | None = Field(default=None, description="Minutes of training, at most.")
    max_epochs: float | None = Field(default=None, description="Epochs of training, at most.")
    random_state: int | None = Field(default=None, description="Seed for a reproducible training run.")

    def model_overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.max_training_time is not None:
            out["max_training_time"] = self.max_training_time
        if self.max_epochs is not None:
            out["max_epochs"] = self.max_epochs
        return out


class GenerateRunConfig(dg.Config):
    """Overrides for one generation run."""

    size: int | None = Field(default=None, description="Rows of the first (subject) table.")
    table_sizes: dict[str, int] | None = Field(default=None, description="Rows per table name.")
    seed: list[dict[str, Any]] | None = Field(
        default=None,
        description="Seed records for the first table: each record fixes some columns of one row.",
    )
    random_state: int | None = Field(default=None, description="Seed for reproducible sampling.")
    sampling_temperature: float | None = Field(default=None, description="0 to 2; 1 is the default.")
    sampling_top_p: float | None = Field(default=None, description="(0, 1]; 1 is the default.")

    def size_override(self, first_table: str) -> int | dict[str, int] | None:
        if not self.table_sizes:
            return self.size
        sizes = {first_table: self.size} if self.size is not None else {}
        return {**sizes, **self.table_sizes}

    def seed_override(self) -> list[dict[str, Any]] | None:
        return [dict(r) for r in self.seed] if self.seed else None

    def sampling_override(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.sampling_temperature is not None:
            out["sampling_temperature"] = self.sampling_temperature
        if self.sampling_top_p is not None:
            out["sampling_top_p"] = self.sampling_top_p
        return out
