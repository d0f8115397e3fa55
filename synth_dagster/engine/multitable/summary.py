"""The workspace manifest and the training figures of each table."""

from __future__ import annotations

from dataclasses import dataclass

MANIFEST = "generator.json"


@dataclass
class TableSummary:
    name: str
    rows: int
    columns: int
    training_rows: int
    holdout_rows: int
    epochs: float
    seconds: float
    stop_reason: str
    encodings: dict[str, str]
    model_size_bytes: int
