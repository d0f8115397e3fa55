"""DP-SGD for a flat table's TabularARGN: one unit per row, each row with its own column order."""

from __future__ import annotations

import numpy as np
import torch

from synth_dagster.engine.encoding.private import value_protection_spent
from synth_dagster.engine.model import ModelShape, TabularARGN, visibility
from synth_dagster.engine.privacy.accounting import PrivacyLedger
from synth_dagster.engine.privacy.dpsgd import Part, UnitProblem, run_private_training
from synth_dagster.engine.privacy.settings import DPSettings
from synth_dagster.engine.progress import ProgressCallback, StopCheck
from synth_dagster.engine.training import (
    ColumnOrders,
    TrainingReport,
    TrainingSettings,
    auto_batch_size,
    resolve_seed,
    train_model,
    validation_loss,
)


def new_ledger(dp: DPSettings, value_protection_epsilon: float, previous: dict | None) -> PrivacyLedger:
    """The ledger of a model: a continued training's earlier one, else a fresh one."""
    if previous:
        return PrivacyLedger.from_json(previous)
    return PrivacyLedger(dp.delta, dp.training_delta, value_protection_epsilon)


def unit_masks(orders: ColumnOrders, n: int) -> torch.Tensor:
    """[n, n_sub, n_sub]: a visibility mask per unit (the order sampler's groups, one row each)."""
    ranks, sizes = orders.sampler(n)
    masks = visibility(ranks, orders.column_of, orders.sub_index)
    return masks.repeat_interleave(torch.tensor(sizes), dim=0)


def order_parts(orders: ColumnOrders, tensors: tuple[torch.Tensor, ...]) -> list[Part]:
    """The units (dim 0 of `tensors`) in groups of one column order each, the order's visibility
    mask shared: as `unit_masks`, but a mask per group rather than per unit."""
    ranks, sizes = orders.sampler(len(tensors[0]))
    masks = visibility(ranks, orders.column_of, orders.sub_index)
    bounds = np.cumsum([0, *sizes])
    return [
        (tuple(t[a:b] for t in tensors), (masks[g],))
        for g, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
        if b > a
    ]


def unit_cross_entropy(logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per row, written out: under vmap, torch's log_softmax backward falls back to
    a slow loop (it took half of a DP-SGD step), logsumexp and gather batch well."""
    return torch.logsumexp(logits, -1) - logits.gather(-1, codes[:, None])[:, 0]


def _row_loss(model: TabularARGN, codes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logits = model(codes[None], mask[None], [1], None)
    return sum(unit_cross_entropy(lg, codes[None, j])[0] for j, lg in enumerate(logits))


def train_flat_private(
    train_codes: np.ndarray,
    val_codes: np.ndarray,
    shape: ModelShape,
    settings: TrainingSettings,
    dp: DPSettings,
    ledger: PrivacyLedger,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
    initial_state: dict[str, torch.Tensor] | None = None,
) -> tuple[TabularARGN, TrainingReport]:
    """A TabularARGN trained with DP-SGD. Unlike `train_model` it neither starts the heads at the
    training marginals nor calibrates them after: both read the rows without noise."""
    seed = resolve_seed(settings.random_state)
    torch.manual_seed(seed)
    model = TabularARGN(shape)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    orders = ColumnOrders(shape, settings.enable_flexible_generation, torch.Generator().manual_seed(seed))
    train_t = torch.from_numpy(train_codes)
    val_t = torch.from_numpy(val_codes) if len(val_codes) else train_t[: min(len(train_t), 2048)]
    batch = max(1, min(settings.batch_size or auto_batch_size(len(train_t)), len(train_t)))

    def inputs(units: np.ndarray) -> list[Part]:
        return order_parts(orders, (train_t[torch.from_numpy(units)],))

    problem = UnitProblem(
        model,
        len(train_t),
        inputs,
        _row_loss,
        lambda: validation_loss(model, val_t, orders.column_of, orders.sub_index),
    )
    report = run_private_training(problem, batch, settings, dp, ledger, seed, on_progress, should_stop)
    report.privacy = ledger.to_json()
    return model, report


def train_flat(
    codes: tuple[np.ndarray, np.ndarray],
    shape: ModelShape,
    settings: TrainingSettings,
    dp: DPSettings | None,
    earlier: tuple[dict[str, torch.Tensor] | None, dict | None],
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> tuple[TabularARGN, TrainingReport]:
    """A flat table's model: DP-SGD when `dp` is set, else `train_model`.
    `codes`: (training, validation); `earlier`: a continued training's weights and privacy ledger."""
    train_codes, val_codes = codes
    initial, ledger_json = earlier
    if dp is None:
        return train_model(train_codes, val_codes, shape, settings, on_progress, should_stop, initial)
    ledger = new_ledger(dp, value_protection_spent(dp), ledger_json)
    return train_flat_private(
        train_codes, val_codes, shape, settings, dp, ledger, on_progress, should_stop, initial
    )
