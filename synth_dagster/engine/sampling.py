"""Drawing codes from a trained TabularARGN, column by column, with fixed (seeded) values and masks."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from synth_dagster.engine.device import manual_generator
from synth_dagster.engine.model import StepTables, TabularARGN

# Rows drawn together: small enough that the per-step tensors stay in cache.
GENERATION_BATCH = 4096
# Threads that draw batches side by side (each running single-threaded kernels).
DRAW_THREADS = min(4, os.cpu_count() or 1)


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
    if controls.temperature != 1.0:
        logits = logits / controls.temperature
    if controls.top_p < 1.0:
        probs = torch.softmax(logits, dim=1)
        sorted_p, order = probs.sort(dim=1, descending=True)
        drop = sorted_p.cumsum(1) - sorted_p > controls.top_p
        removed = torch.zeros_like(drop).scatter(1, order, drop)
        logits = logits.masked_fill(removed, float("-inf"))
    # Inverse CDF with one uniform per row: several times cheaper on CPU than Gumbel-max (a uniform
    # and two logarithms per cell) or torch.multinomial.
    # Unnormalised: the draw scales the uniform by the total instead.
    cdf = (logits - logits.amax(1, keepdim=True)).exp_().cumsum_(1)
    # u < 1 - 2^-22 keeps u * total strictly below the total in float32, so the first cdf entry above
    # it belongs to a code of non-zero probability (forbidden codes, at -inf, have zero).
    u = torch.rand(len(logits), 1, generator=generator).clamp_(max=1 - 2**-22).mul_(cdf[:, -1:])
    return torch.searchsorted(cdf, u, right=True).squeeze(1)


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
    device = model.first_bias.device  # a model moved to a GPU draws there; its batches follow it
    sequence = [j for c in column_order for j in range(n_sub) if shape.column_of[j] == c]
    plan = _DrawPlan(
        model=model,
        sequence=sequence,
        tables=_step_tables(model, sequence),
        # Codes are kept in draw order with each sub-column's table offset added, so that a head's
        # input is a prefix slice of one matrix (no gather per step).
        offsets=torch.tensor(
            [0, *np.cumsum([shape.cardinalities[j] for j in sequence])[:-1]], dtype=torch.long
        ).to(device),
        output_bias=[_to(_output_bias(model, controls, j), device) for j in range(n_sub)],
        controls=controls,
    )
    fixed_seq = torch.from_numpy(np.ascontiguousarray(fixed[:, sequence])).to(device)
    batches = [(start, min(start + GENERATION_BATCH, n_rows)) for start in range(0, n_rows, GENERATION_BATCH)]
    # One generator per batch, seeded in order from the caller's: the output does not depend on how
    # many threads draw the batches.
    seeds = [int(s) for s in torch.randint(0, 2**62, (len(batches),), generator=generator)]

    def draw_batch(i: int) -> np.ndarray:
        start, stop = batches[i]
        ctx = context[start:stop].to(device) if context is not None else None
        return plan.draw(fixed_seq[start:stop], start, ctx, manual_generator(seeds[i], device))

    out = np.empty((n_rows, n_sub), dtype=np.int64)
    workers = min(DRAW_THREADS, len(batches), torch.get_num_threads()) if device.type == "cpu" else 1
    if workers > 1:
        # Small per-step kernels scale better across threads than within one op.
        with _single_threaded_ops(), ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(draw_batch, range(len(batches))))
    else:
        results = [draw_batch(i) for i in range(len(batches))]
    for (start, stop), codes in zip(batches, results, strict=True):
        out[start:stop, sequence] = codes
    return out


def _step_tables(model: TabularARGN, sequence: list[int]) -> dict[int, StepTables]:
    """The model's step tables for `sequence`, kept on the model until its weights change.

    why: folding them costs as much as drawing ~50,000 rows; a dataset drawn in chunks asks for the
    same tables once per chunk. Tensor versions grow with every in-place update (optimizer steps,
    load_state_dict), so a trained-further model never reuses stale tables.
    """
    key = (tuple(sequence), tuple(p._version for p in model.parameters()), str(model.first_bias.device))
    cached = getattr(model, "_step_tables_cache", None)
    if cached is None or cached[0] != key:
        cached = (key, model.step_tables(sequence))
        model._step_tables_cache = cached  # type: ignore[attr-defined]
    return cached[1]


def _to(tensor: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return tensor.to(device) if tensor is not None else None


_THREADS_LOCK = threading.Lock()


@contextmanager
def _single_threaded_ops() -> Iterator[None]:
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@dataclass
class _DrawPlan:
    """Everything fixed for one column order; `draw` fills one batch of rows."""

    model: TabularARGN
    sequence: list[int]
    tables: dict[int, StepTables]
    offsets: torch.Tensor
    output_bias: list[torch.Tensor | None]
    controls: SamplingControls

    @torch.inference_mode()
    def draw(
        self, fixed: torch.Tensor, start: int, context: torch.Tensor | None, generator: torch.Generator
    ) -> np.ndarray:
        """Codes [rows, n_sub] in draw order; fixed [rows, n_sub] (draw order) holds seeded codes or -1."""
        given = fixed >= 0
        given_all, given_any = given.all(0).tolist(), given.any(0).tolist()
        drawn_codes = fixed.clamp(min=0) + self.offsets  # placeholders are overwritten in draw order
        context_term = self.model.context_term(context) if context is not None else None
        previous = self.model.repeat_codes(context)
        row_allowed = self.controls.row_allowed
        for position, j in enumerate(self.sequence):
            if given_all[position]:
                continue
            logits = self.model.step_logits(
                j, self.tables[j], drawn_codes[:, :position], context_term, self.output_bias[j], previous
            )
            if j in row_allowed:
                rows = row_allowed[j][start : start + len(fixed)]
                logits.masked_fill_(~torch.from_numpy(rows).to(logits.device), float("-inf"))
            drawn = _draw(logits, self.controls, generator)
            if given_any[position]:
                drawn = torch.where(given[:, position], fixed[:, position], drawn)
            drawn_codes[:, position] = drawn + self.offsets[position]
        return (drawn_codes - self.offsets).cpu().numpy()


def _output_bias(model: TabularARGN, controls: SamplingControls, j: int) -> torch.Tensor | None:
    """Head j's output bias with -inf at the codes that may never be drawn (None: all may be)."""
    allowed = controls.allowed[j] if j < len(controls.allowed) else None
    if allowed is None or allowed.all():
        return None
    bias = model.heads[j][-1].bias.detach().clone()
    bias[torch.from_numpy(~allowed)] = float("-inf")
    return bias
