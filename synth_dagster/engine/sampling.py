"""Drawing codes from a trained TabularARGN, column by column, with fixed (seeded) values and masks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from synth_dagster.engine.model import TabularARGN

GENERATION_BATCH = 16_384


@dataclass
class SamplingControls:
    temperature: float = 1.0
    top_p: float = 1.0
    # Per sub-column: which codes may be drawn at all (e.g. tokens never seen in training, or null
    # in imputed columns). None means all.
    allowed: list[np.ndarray | None] = field(default_factory=list)
    # Per sub-column, per row: extra restrictions (e.g. combinations compatible with a seed).
    row_allowed: dict[int, np.ndarray] = field(default_factory=dict)


def _draw(logits: torch.Tensor, controls: SamplingControls, generator: torch.Generator) -> torch.Tensor:
    if controls.temperature <= 0:
        return logits.argmax(1)
    logits = logits / controls.temperature
    if controls.top_p < 1.0:
        probs = torch.softmax(logits, dim=1)
        sorted_p, order = probs.sort(dim=1, descending=True)
        drop = sorted_p.cumsum(1) - sorted_p > controls.top_p
        removed = torch.zeros_like(drop).scatter(1, order, drop)
        logits = logits.masked_fill(removed, float("-inf"))
    # Gumbel-max: one uniform draw per cell, much faster than torch.multinomial on CPU.
    uniform = torch.rand(logits.shape, generator=generator).clamp_(1e-12, 1.0)
    return (logits - torch.log(-torch.log(uniform))).argmax(1)


@torch.no_grad()
def sample_codes(
    model: TabularARGN,
    n_rows: int,
    column_order: Sequence[int],
    fixed: np.ndarray,
    controls: SamplingControls,
    generator: torch.Generator,
    context: torch.Tensor | None = None,
) -> np.ndarray:
    """Codes [n_rows, n_sub]. fixed holds a code where a value is given (seed), -1 where it is drawn.

    Columns are visited in column_order; the caller puts seeded columns first so that the rest is
    drawn conditionally on them.
    """
    shape = model.shape
    n_sub = len(shape.cardinalities)
    sequence = [j for c in column_order for j in range(n_sub) if shape.column_of[j] == c]
    position = np.empty(n_sub, dtype=int)
    position[sequence] = np.arange(n_sub)
    visible_of = torch.from_numpy((position[None, :] < position[:, None]).astype(np.float32))  # [j, k]
    out = np.empty((n_rows, n_sub), dtype=np.int64)
    for start in range(0, n_rows, GENERATION_BATCH):
        stop = min(start + GENERATION_BATCH, n_rows)
        b = stop - start
        codes = torch.zeros(b, n_sub, dtype=torch.long)
        embedded = torch.zeros(b, model.offsets[-1])
        fixed_b = torch.from_numpy(fixed[start:stop])
        ctx = context[start:stop] if context is not None else None
        for j in sequence:
            given = fixed_b[:, j] >= 0
            if bool(given.all()):
                drawn = fixed_b[:, j]
            else:
                logits = model.head_logits(j, embedded, visible_of[j], ctx)
                mask = controls.allowed[j] if j < len(controls.allowed) else None
                if mask is not None:
                    logits = logits.masked_fill(~torch.from_numpy(mask), float("-inf"))
                if j in controls.row_allowed:
                    logits = logits.masked_fill(
                        ~torch.from_numpy(controls.row_allowed[j][start:stop]), float("-inf")
                    )
                drawn = torch.where(given, fixed_b[:, j], _draw(logits, controls, generator))
            codes[:, j] = drawn
            embedded[:, model.offsets[j] : model.offsets[j + 1]] = model.embeddings[j](drawn)
        out[start:stop] = codes.numpy()
    return out
