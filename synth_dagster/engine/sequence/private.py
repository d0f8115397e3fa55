"""DP-SGD for a sequence table: one unit per sequence (a subject's rows, or a window of them), so
the guarantee is about whole subjects, not single rows. The context's GRU trains as opacus'
`DPGRU` (linear cells that per-unit gradients can pass through) and goes back to `nn.GRU` after."""

from __future__ import annotations

import numpy as np
import torch
from opacus.layers import DPGRU
from torch import nn

from synth_dagster.engine.privacy.accounting import PrivacyLedger
from synth_dagster.engine.privacy.dpsgd import Part, UnitProblem, run_private_training
from synth_dagster.engine.privacy.flat import order_parts, unit_cross_entropy
from synth_dagster.engine.privacy.settings import DPSettings
from synth_dagster.engine.progress import ProgressCallback, StopCheck
from synth_dagster.engine.sequence.batches import SequenceBatches
from synth_dagster.engine.sequence.network import SequenceNetwork
from synth_dagster.engine.training import TrainingReport


def _swap_gru(network: SequenceNetwork, private: bool) -> None:
    old = network.context.gru
    size = old.hidden_size
    new = DPGRU(size, size, batch_first=True) if private else nn.GRU(size, size, batch_first=True)
    new.load_state_dict(old.state_dict())
    network.context.gru = new


def _unit_inputs(batches: SequenceBatches, parents: np.ndarray) -> list[Part]:
    """Per sequence: parent codes, row codes [T, J], position, remaining, valid; in parts of one
    column order, whose visibility mask they share."""
    layout = batches.layout
    lengths = layout.lengths[parents]
    windows = np.minimum(lengths, batches.window)
    offsets = (batches.rng.random(len(parents)) * (lengths - windows + 1)).astype(np.int64)
    grid = np.arange(int(windows.max()))[None, :]
    valid = grid < windows[:, None]
    index = np.where(valid, layout.starts[parents, None] + offsets[:, None] + grid, 0)
    position = torch.from_numpy(offsets[:, None] + grid)
    remaining = torch.from_numpy(lengths[:, None] - 1) - position
    tensors = (
        batches.parent_codes[torch.from_numpy(parents)],
        batches.codes[torch.from_numpy(index)],
        position,
        remaining,
        torch.from_numpy(valid).float(),
    )
    return order_parts(batches.orders, tensors)


def _sequence_loss(mean_rows: float):  # noqa: ANN202 - a unit loss for UnitProblem
    def loss(
        network: SequenceNetwork,
        parent: torch.Tensor,
        rows: torch.Tensor,
        position: torch.Tensor,
        remaining: torch.Tensor,
        valid: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        context = network.context(parent[None], rows[None], position[None], remaining[None])[0]
        logits = network.argn(rows, mask[None], [len(rows)], context)
        per_row = sum(unit_cross_entropy(lg, rows[:, j]) for j, lg in enumerate(logits))
        return (per_row * valid).sum() / mean_rows

    return loss


def train_sequences_private(
    batches: SequenceBatches,
    validation_parents: np.ndarray,
    seed: int,
    dp: DPSettings,
    ledger: PrivacyLedger,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> TrainingReport:
    """DP-SGD on the sequences of parents not kept for validation; no calibration after."""
    network, layout = batches.network, batches.layout
    train_parents, val_parents = batches.split_parents(validation_parents)
    mean_rows = (
        float(np.minimum(layout.lengths[train_parents], batches.window).mean()) if len(train_parents) else 1.0
    )
    problem = UnitProblem(
        network,
        len(train_parents),
        lambda units: _unit_inputs(batches, train_parents[units]),
        _sequence_loss(max(mean_rows, 1.0)),
        lambda: batches.validation(val_parents),
    )
    _swap_gru(network, private=True)
    try:
        report = run_private_training(
            problem, batches.sequences_per_batch, batches.settings, dp, ledger, seed, on_progress, should_stop
        )
    finally:
        _swap_gru(network, private=False)
    report.privacy = ledger.to_json()
    return report
