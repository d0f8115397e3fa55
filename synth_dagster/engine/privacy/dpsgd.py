"""DP-SGD over the units of a model (rows of a flat table, whole sequences of a sequence table,
child rows of a key matcher).

Per-unit gradients come from torch.func (`vmap` over `grad` of one unit's loss): the TabularARGN
masks its weights per column order and keeps raw parameters outside nn.Linear, which opacus' hook
grad samplers do not cover, and the sequence context's GRU runs as opacus' `DPGRU` (plain linear
cells) while it trains. opacus' `DPOptimizer` then clips every unit's gradient at `max_grad_norm`,
adds Gaussian noise of `noise_multiplier * max_grad_norm` (from a seeded generator) and averages
over the expected batch. Batches are Poisson samples (each unit in with probability q), split into
physical chunks of bounded memory whose clipped gradients add up before the one noisy step (as
opacus' BatchMemoryManager does). Steps are counted with the RDP accountant; training stops before
the ε budget would be exceeded, so the weights it keeps (the last) are within it. Validation loss is
shown, but it chooses neither the weights nor when to stop: the validation rows are data too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from opacus.optimizers import DPOptimizer
from torch import nn
from torch.func import functional_call, grad, vmap

from synth_dagster.engine.errors import TrainingCanceled
from synth_dagster.engine.privacy.accounting import PrivacyLedger
from synth_dagster.engine.privacy.settings import DPSettings
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck
from synth_dagster.engine.training import TrainingReport, TrainingSettings, auto_learning_rate

# Per-unit gradients held at once: units per physical chunk times parameters stays below this.
PHYSICAL_VALUES = 64_000_000

# Units that share tensors (a column order's visibility mask): (per-unit tensors, shared tensors).
# vmap leaves what the shared tensors compute unbatched, so a masked weight is built once per
# part instead of once per unit (a 10-30x faster flat-table step).
Part = tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]


@dataclass
class UnitProblem:
    """What DP-SGD needs of a model: its units and the loss of one of them.

    `inputs(units)` gives the batched tensors of these units (dim 0: unit), or a list of `Part`s
    that cover the units in order; `unit_loss(module, *tensors, *shared)` the loss of one unit from
    its own slice of them (no batch dimension) and its part's shared tensors.
    """

    module: nn.Module
    n_units: int
    inputs: Callable[[np.ndarray], tuple[torch.Tensor, ...] | list[Part]]
    unit_loss: Callable[..., torch.Tensor]
    validate: Callable[[], float]


class _UnitLoss(nn.Module):
    def __init__(self, module: nn.Module, fn: Callable[..., torch.Tensor]):
        super().__init__()
        self.inner = module
        self.fn = fn

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.fn(self.inner, *tensors)


def per_unit_gradients(
    module: nn.Module,
    unit_loss: Callable[..., torch.Tensor],
    tensors: tuple[torch.Tensor, ...],
    shared: tuple[torch.Tensor, ...] = (),
) -> dict[str, torch.Tensor]:
    """Gradient of every unit's loss, by parameter name of `module`: [units, *parameter shape]."""
    wrapper = _UnitLoss(module, unit_loss)
    params = {n: p.detach() for n, p in wrapper.named_parameters() if p.requires_grad}
    buffers = {n: b for n, b in wrapper.named_buffers()}

    def loss(p: dict[str, torch.Tensor], *unit: torch.Tensor) -> torch.Tensor:
        return functional_call(wrapper, (p, buffers), unit)

    in_dims = (None, *[0] * len(tensors), *[None] * len(shared))
    grads = vmap(grad(loss), in_dims=in_dims, randomness="different")(params, *tensors, *shared)
    return {n.removeprefix("inner."): g for n, g in grads.items()}


def physical_units(module: nn.Module) -> int:
    n_params = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return int(max(1, min(256, PHYSICAL_VALUES // max(n_params, 1))))


def _part_gradients(problem: UnitProblem, units: np.ndarray) -> dict[str, torch.Tensor]:
    got = problem.inputs(units)
    parts = got if isinstance(got, list) else [(got, ())]
    grads = [per_unit_gradients(problem.module, problem.unit_loss, t, shared) for t, shared in parts]
    return grads[0] if len(grads) == 1 else {n: torch.cat([g[n] for g in grads]) for n in grads[0]}


def _private_step(problem: UnitProblem, optimizer: DPOptimizer, units: np.ndarray, chunk: int) -> None:
    """One noisy step on the Poisson sample `units`: clipped per-unit gradients, chunk by chunk."""
    named = dict(problem.module.named_parameters())
    parts = [units[s : s + chunk] for s in range(0, len(units), chunk)] or [units[:1]]
    for i, part in enumerate(parts):
        if len(part):
            grads = _part_gradients(problem, part)
        else:  # an empty sample: a zero pseudo-unit, so that the step is noise only
            grads = {n: torch.zeros(1, *p.shape) for n, p in named.items() if p.requires_grad}
        for n, g in grads.items():
            named[n].grad_sample = g
        if i + 1 < len(parts):
            optimizer.signal_skip_step(do_skip=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


# Defaults when the user sets neither batch size nor noise (see docs/privacy.md). DP-SGD does best
# with large Poisson batches (the noise is averaged over more units) and few epochs, with the noise
# calibrated so that those epochs spend exactly the ε budget: a fixed noise of 1.5 instead either
# leaves a small budget only a handful of small steps or an ample one 100 epochs of slow training.
DP_SAMPLE_RATE = 0.1  # expected share of the units in one batch
DP_MAX_BATCH = 4096
DP_EPOCHS = 4.0
DP_FIXED_NOISE = 1.5  # without an ε budget there is nothing to calibrate to


def dp_batch_size(n_units: int) -> int:
    return int(np.clip(round(n_units * DP_SAMPLE_RATE), min(n_units, 32), DP_MAX_BATCH))


@dataclass
class _Schedule:
    rate: float
    noise: float
    steps_per_epoch: int
    max_steps: int
    budget_binds: bool  # the ε budget, not max_epochs, ends training


def calibrated_noise(ledger: PrivacyLedger, budget: float, rate: float, steps: int) -> float:
    """The smallest noise multiplier (to 1%) with which `steps` more steps stay within `budget`."""
    low, high = 0.3, 1.0
    while ledger.training_epsilon((high, rate, steps)) > budget and high < 1e4:
        low, high = high, high * 2
    while high / low > 1.01:
        mid = math.sqrt(low * high)
        if ledger.training_epsilon((mid, rate, steps)) > budget:
            low = mid
        else:
            high = mid
    return high


def _schedule(
    n_units: int, batch: int, settings: TrainingSettings, dp: DPSettings, ledger: PrivacyLedger
) -> _Schedule:
    rate = min(1.0, batch / max(n_units, 1))
    steps_per_epoch = max(1, math.ceil(1 / rate))
    max_steps = int(settings.max_epochs * steps_per_epoch)
    noise, budget = dp.noise_multiplier, dp.training_budget
    if noise is None:
        if budget is None:
            noise = DP_FIXED_NOISE
        else:
            max_steps = min(max_steps, max(1, int(DP_EPOCHS * steps_per_epoch)))
            noise = calibrated_noise(ledger, budget, rate, max_steps)
    within = ledger.steps_within(budget, noise, rate, max_steps)
    calibrated = dp.noise_multiplier is None and budget is not None  # its last step meets the budget
    return _Schedule(rate, noise, steps_per_epoch, min(max_steps, within), within < max_steps or calibrated)


def run_private_training(
    problem: UnitProblem,
    batch: int,
    settings: TrainingSettings,
    dp: DPSettings,
    ledger: PrivacyLedger,
    seed: int,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> TrainingReport:
    """DP-SGD on `problem` with expected batch `batch` units; records the steps in `ledger`."""
    started = time.monotonic()
    if settings.batch_size is None:  # DP's own default batch, not the non-private training's
        batch = dp_batch_size(problem.n_units)
    plan = _schedule(problem.n_units, batch, settings, dp, ledger)
    sampler = torch.Generator().manual_seed(seed + 1)
    optimizer = DPOptimizer(
        torch.optim.AdamW(
            [p for p in problem.module.parameters() if p.requires_grad],
            lr=settings.learning_rate or auto_learning_rate(batch),
            weight_decay=settings.weight_decay,
        ),
        noise_multiplier=plan.noise,
        max_grad_norm=dp.max_grad_norm,
        expected_batch_size=batch,
        loss_reduction="mean",
        generator=torch.Generator().manual_seed(seed + 2),
        secure_mode=False,
    )
    deadline = started + settings.max_training_time * 60 if settings.max_training_time else math.inf
    chunk = physical_units(problem.module)
    step, val, stop_reason = 0, math.nan, "max_epochs"
    problem.module.train()
    while step < plan.max_steps:
        if should_stop():
            raise TrainingCanceled("training was canceled")
        units = torch.nonzero(torch.rand(problem.n_units, generator=sampler) < plan.rate).flatten().numpy()
        _private_step(problem, optimizer, units, chunk)
        step += 1
        if step % plan.steps_per_epoch == 0 or step == plan.max_steps:
            val = _progress(problem, ledger, plan, step, started, on_progress)
        if time.monotonic() > deadline:
            stop_reason = "max_training_time"
            break
    if step >= plan.max_steps and plan.budget_binds:
        stop_reason = "max_epsilon"
    ledger.record(plan.noise, plan.rate, step)
    problem.module.eval()
    return TrainingReport(
        epochs=step / plan.steps_per_epoch,
        steps=step,
        best_val_loss=val,
        seconds=time.monotonic() - started,
        stop_reason=stop_reason,
    )


def _progress(
    problem: UnitProblem,
    ledger: PrivacyLedger,
    plan: _Schedule,
    step: int,
    started: float,
    on_progress: ProgressCallback,
) -> float:
    problem.module.eval()
    with torch.no_grad():
        val = problem.validate()
    problem.module.train()
    epsilon = ledger.value_protection_epsilon + ledger.training_epsilon((plan.noise, plan.rate, step))
    on_progress(
        EngineProgress(
            step="TRAIN_MODEL",
            completed=step,
            total=plan.max_steps,
            epoch=step / plan.steps_per_epoch,
            val_loss=val,
            elapsed=time.monotonic() - started,
            message=f"step {step}: val_loss {val:.4f}, ε {epsilon:.3f} (δ {ledger.delta:g})",
            epsilon=epsilon,
        )
    )
    return val
