"""The workspace manifest and the training figures of each table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    # differential privacy: ε spent (value protection + DP-SGD of the model and of its key matchers,
    # composed sequentially) at δ; None when the table trained without it
    epsilon: float | None = None
    delta: float | None = None
    # the language model of LANGUAGE_* columns: model, parameters, epochs, steps, seconds,
    # best_val_loss, stop_reason; None when the table has none
    language: dict[str, Any] | None = None
