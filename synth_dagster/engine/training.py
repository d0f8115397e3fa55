"""Training loop: random column orders, validation split, early stopping on the best checkpoint."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from synth_dagster.engine.device import resolve_device
from synth_dagster.engine.errors import TrainingCanceled
from synth_dagster.engine.model import ModelShape, TabularARGN, visibility
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress

# Share of rows trained in the canonical order when flexible generation is on: every order is still
# learned, and the order used for unconditional generation gets extra accuracy.
CANONICAL_SHARE_FLEXIBLE = 0.5
PATIENCE_EPOCHS = 3
# Early stopping waits for this many optimizer steps: a small table's epoch is a handful of steps,
# and a few epochs of them are too few to pick up what the context adds.
MIN_STEPS_BEFORE_STOPPING = 300
# ... or for this many epochs, whichever comes first: a 93-row table (3 steps an epoch) would
# otherwise train 100 epochs though its validation loss is best after a few. 20 epochs reach 300
# steps from 15 steps an epoch on, i.e. every table of more than about 500 training rows (batch
# sizes grow with the table: 17-34 steps an epoch from 768 rows), so the rule changes nothing for
# them: the engine benchmark's diamonds (24 steps an epoch) and plyr/baseball (about 19) included.
MIN_EPOCHS_BEFORE_STOPPING = 20
# An epoch counts as progress only when it improves the best validation loss by this share.
MIN_RELATIVE_IMPROVEMENT = 0.004
VALIDATION_CHUNK = 8192  # rows per teacher-forced pass outside training


@dataclass
class TrainingSettings:
    max_epochs: float = 100.0
    max_training_time: float | None = None  # minutes
    batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    enable_flexible_generation: bool = True
    random_state: int | None = None
    learning_rate: float | None = None  # None: scaled with the batch size (see auto_learning_rate)
    weight_decay: float = 1e-5
    device: str | None = None  # "auto" (None), "cpu", "cuda[:N]": see engine/device.py


@dataclass
class TrainingReport:
    epochs: float
    steps: int
    best_val_loss: float
    seconds: float
    stop_reason: str
    privacy: dict[str, Any] | None = None  # differential privacy: the PrivacyLedger as JSON


def auto_batch_size(n_rows: int) -> int:
    # Small tables want more, smaller steps; large ones saturate the CPU with bigger batches.
    return int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 24)), 32, 1024))


# Random column orders per batch when flexible generation is on. Rows of one order share a single
# dense product (masked weights), so a batch holds a few order groups rather than one order per row.
RANDOM_ORDER_GROUPS = 4


def auto_learning_rate(batch: int) -> float:
    # Large batches take large steps (2e-2 at 1024 rows); small ones, whose gradients are noisier,
    # smaller (square-root scaling), never below 3e-3.
    return float(np.clip(2e-2 * math.sqrt(batch / 1024), 3e-3, 2e-2))


class OrderSampler:
    """Column ranks per group of rows: the canonical order for a share of each batch, random orders for the rest."""

    def __init__(self, n_columns: int, canonical_share: float, generator: torch.Generator):
        self.n_columns = n_columns
        self.canonical_share = canonical_share
        self.generator = generator

    def __call__(self, batch: int) -> tuple[torch.Tensor, list[int]]:
        """(ranks [G, n_columns], group sizes summing to batch)."""
        canonical = torch.arange(self.n_columns)[None, :]
        if self.canonical_share >= 1.0 or self.n_columns < 2 or batch < 2:
            return canonical, [batch]
        n_canonical = int(round(batch * self.canonical_share))
        n_random = min(RANDOM_ORDER_GROUPS, batch - n_canonical)
        if n_random <= 0:
            return canonical, [batch]
        base, extra = divmod(batch - n_canonical, n_random)
        sizes = [n_canonical] + [base + (g < extra) for g in range(n_random)]
        random_rank = torch.rand(n_random, self.n_columns, generator=self.generator).argsort(1).argsort(1)
        ranks = torch.cat([canonical, random_rank])
        if n_canonical == 0:
            return ranks[1:], sizes[1:]
        return ranks, sizes


def _loss(
    model: TabularARGN,
    codes: torch.Tensor,
    masks: torch.Tensor,
    sizes: list[int],
    context: torch.Tensor | None,
) -> torch.Tensor:
    # why: batches are built on the CPU; they move where the model is (a no-op on the CPU)
    device = model.first_bias.device
    codes, masks = codes.to(device), masks.to(device)
    context = context.to(device) if context is not None else None
    logits = model(codes, masks, sizes, context)
    return sum(nn.functional.cross_entropy(lg, codes[:, j]) for j, lg in enumerate(logits))


@torch.no_grad()
def validation_loss(
    model: TabularARGN, codes: torch.Tensor, column_of: torch.Tensor, sub_index: torch.Tensor
) -> float:
    """Mean loss in the canonical order (the order of unconditional generation)."""
    was_training = model.training
    model.eval()
    n_columns = int(column_of.max()) + 1
    masks = visibility(torch.arange(n_columns)[None, :], column_of, sub_index)
    total, count = 0.0, 0
    for start in range(0, len(codes), VALIDATION_CHUNK):
        chunk = codes[start : start + VALIDATION_CHUNK]
        total += float(_loss(model, chunk, masks, [len(chunk)], None)) * len(chunk)
        count += len(chunk)
    model.train(was_training)
    return total / max(count, 1)


@torch.no_grad()
def start_at_marginals(model: TabularARGN, codes: np.ndarray) -> None:
    """Start every head's output at its sub-column's training frequencies instead of uniform.

    why: a small table gives few optimizer steps before early stopping; starting from uniform, the
    heads of many-valued sub-columns would still be close to uniform when training ends.
    """
    for j, head in enumerate(model.heads):
        counts = np.bincount(codes[:, j], minlength=model.shape.cardinalities[j]).astype(np.float64)
        frequencies = (counts + 0.5) / (counts.sum() + 0.5 * len(counts))
        head[-1].bias.copy_(torch.from_numpy(np.log(frequencies)).float())


def train_model(
    train_codes: np.ndarray,
    val_codes: np.ndarray,
    shape: ModelShape,
    settings: TrainingSettings,
    on_progress: ProgressCallback = no_progress,
    should_stop: StopCheck = never_stop,
    initial_state: dict[str, torch.Tensor] | None = None,
) -> tuple[TabularARGN, TrainingReport]:
    """Train a TabularARGN; `initial_state` (weights of the same shape) continues an earlier training."""
    seed = resolve_seed(settings.random_state)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    model = TabularARGN(shape)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    else:
        start_at_marginals(model, train_codes)
    # initialised on the CPU whatever the device, so that a seed gives the same start everywhere
    model.to(resolve_device(settings.device))
    orders = ColumnOrders(shape, settings.enable_flexible_generation, generator)

    train_t = torch.from_numpy(train_codes)
    val_t = torch.from_numpy(val_codes) if len(val_codes) else train_t[: min(len(train_t), 2048)]
    batch = settings.batch_size or auto_batch_size(len(train_t))
    batch = max(1, min(batch, len(train_t)))

    def epoch_batches() -> Iterator[tuple[torch.Tensor, int]]:
        perm = torch.from_numpy(rng.permutation(len(train_t)))
        for start in range(0, len(train_t), batch):
            codes = train_t[perm[start : start + batch]]
            yield orders.loss(model, codes, None), len(codes)

    def validate() -> float:
        return validation_loss(model, val_t, orders.column_of, orders.sub_index)

    report = run_training(
        model,
        epoch_batches,
        validate,
        math.ceil(len(train_t) / batch),
        batch,
        settings,
        on_progress,
        should_stop,
        continued=initial_state is not None,
    )
    model.cpu()  # calibrated, saved and drawn from on the CPU unless a generator moves it
    # in random order: a large table is calibrated on a random part of it, not on its first rows
    shuffled = torch.from_numpy(rng.permutation(len(train_t)))
    chunks = (
        (train_t[shuffled[s : s + VALIDATION_CHUNK]], None) for s in range(0, len(train_t), VALIDATION_CHUNK)
    )
    calibrate_output_biases(model, chunks, orders)
    return model, report


def resolve_seed(random_state: int | None) -> int:
    return random_state if random_state is not None else int(np.random.SeedSequence().entropy % 2**31)


class ColumnOrders:
    """The column orders a model trains on, and the teacher-forced loss of a batch under them."""

    def __init__(self, shape: ModelShape, flexible: bool, generator: torch.Generator):
        self.column_of = torch.tensor(shape.column_of)
        self.sub_index = torch.tensor(
            [sum(1 for k in range(j) if shape.column_of[k] == c) for j, c in enumerate(shape.column_of)]
        )
        n_columns = int(self.column_of.max()) + 1
        share = CANONICAL_SHARE_FLEXIBLE if flexible else 1.0
        self.sampler = OrderSampler(n_columns, share, generator)

    def loss(self, model: TabularARGN, codes: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        ranks, sizes = self.sampler(len(codes))
        return _loss(model, codes, visibility(ranks, self.column_of, self.sub_index), sizes, context)

    def canonical_masks(self) -> torch.Tensor:
        """The visibility of the canonical order (the order of unconditional generation)."""
        return visibility(torch.arange(self.sampler.n_columns)[None, :], self.column_of, self.sub_index)

    def canonical_loss(
        self, model: TabularARGN, codes: torch.Tensor, context: torch.Tensor | None
    ) -> torch.Tensor:
        return _loss(model, codes, self.canonical_masks(), [len(codes)], context)


@dataclass
class _Checkpoints:
    """The best weights so far and the plateau count that stops training early."""

    best_loss: float
    best_state: dict[str, Any]
    progress_loss: float = math.inf
    bad_epochs: int = 0

    def update(self, val: float, module: nn.Module) -> None:
        if val < self.best_loss:
            self.best_loss, self.best_state = val, copy.deepcopy(module.state_dict())
        if (
            math.isinf(self.progress_loss)
            or val < self.progress_loss - abs(self.progress_loss) * MIN_RELATIVE_IMPROVEMENT
        ):
            self.progress_loss, self.bad_epochs = val, 0
        else:
            self.bad_epochs += 1

    def plateaued(self, step: int, min_steps: int = MIN_STEPS_BEFORE_STOPPING) -> bool:
        return self.bad_epochs >= PATIENCE_EPOCHS and step >= min_steps


def min_steps_before_stopping(steps_per_epoch: int) -> int:
    """Steps early stopping waits for: 300, or 20 epochs of a small table's few steps."""
    return min(MIN_STEPS_BEFORE_STOPPING, MIN_EPOCHS_BEFORE_STOPPING * max(1, steps_per_epoch))


def _optimizer(
    module: nn.Module, settings: TrainingSettings, batch_rows: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau]:
    optimizer = torch.optim.AdamW(
        module.parameters(),
        lr=settings.learning_rate or auto_learning_rate(batch_rows),
        weight_decay=settings.weight_decay,
    )
    return optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)


def _train_epoch(
    batches: Iterator[tuple[torch.Tensor, int]],
    optimizer: torch.optim.Optimizer,
    accumulate: int,
    steps_per_epoch: int,
    steps: tuple[int, int],
    deadline: float,
    should_stop: StopCheck,
) -> tuple[float, int]:
    """One epoch's optimisation: (mean training loss, steps done in all); stops at the step limit
    or the deadline. `steps`: (steps done before, the limit)."""
    step, max_steps = steps
    running, seen = 0.0, 0
    for i, (loss, rows) in enumerate(batches):
        if should_stop():
            raise TrainingCanceled("training was canceled")
        (loss / accumulate).backward()
        if (i + 1) % accumulate == 0 or i + 1 >= steps_per_epoch:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        running += loss.item() * rows
        seen += rows
        step += 1
        if step >= max_steps or time.monotonic() > deadline:
            break
    return running / max(seen, 1), step


def run_training(
    module: nn.Module,
    epoch_batches: Callable[[], Iterator[tuple[torch.Tensor, int]]],
    validate: Callable[[], float],
    steps_per_epoch: int,
    batch_rows: int,
    settings: TrainingSettings,
    on_progress: ProgressCallback = no_progress,
    should_stop: StopCheck = never_stop,
    continued: bool = False,
) -> TrainingReport:
    """The optimisation loop shared by flat and sequence models.

    `epoch_batches()` yields (loss, rows) per batch of one epoch; `validate()` gives the validation
    loss (the module is put in eval mode around it). Keeps the best checkpoint, stops early on a
    plateau, on `max_training_time`, or after `max_epochs`.
    """
    accumulate = max(1, settings.gradient_accumulation_steps or 1)
    optimizer, scheduler = _optimizer(module, settings, batch_rows)
    steps_per_epoch = max(1, steps_per_epoch)
    max_steps = int(settings.max_epochs * steps_per_epoch)
    deadline = time.monotonic() + settings.max_training_time * 60 if settings.max_training_time else math.inf

    def checked_validation() -> float:
        module.eval()
        with torch.no_grad():
            value = validate()
        module.train()
        return value

    started = time.monotonic()
    # continued training keeps the earlier weights unless it improves on them
    checkpoints = _Checkpoints(
        checked_validation() if continued else math.inf, copy.deepcopy(module.state_dict())
    )
    stop_reason, epoch, step = "max_epochs", 0, 0
    module.train()
    while step < max_steps:
        epoch += 1
        loss, step = _train_epoch(
            epoch_batches(), optimizer, accumulate, steps_per_epoch, (step, max_steps), deadline, should_stop
        )
        val = checked_validation()
        scheduler.step(val)
        on_progress(
            EngineProgress(
                step="TRAIN_MODEL",
                completed=min(step, max_steps),
                total=max_steps,
                epoch=step / steps_per_epoch,
                loss=loss,
                val_loss=val,
                elapsed=time.monotonic() - started,
                message=f"epoch {epoch}: loss {loss:.4f}, val_loss {val:.4f}",
            )
        )
        checkpoints.update(val, module)
        if checkpoints.plateaued(step, min_steps_before_stopping(steps_per_epoch)):
            stop_reason = "early_stopping"
            break
        if time.monotonic() > deadline:
            stop_reason = "max_training_time"
            break
    module.load_state_dict(checkpoints.best_state)
    module.eval()
    return TrainingReport(
        epochs=step / steps_per_epoch,
        steps=step,
        best_val_loss=checkpoints.best_loss,
        seconds=time.monotonic() - started,
        stop_reason=stop_reason,
    )


CALIBRATION_ITERATIONS = 50
CALIBRATION_VALUES = 50_000_000  # logits kept for calibration (200 MB); at least one batch of rows
CALIBRATION_L2 = 1e-4  # keeps the shift of codes that never occur finite


def calibrate_output_biases(
    model: TabularARGN,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor | None]],
    orders: ColumnOrders,
) -> None:
    """Shift every head's output bias so that its mean teacher-forced prediction over the given
    rows (canonical order, eval mode) matches the rows' code frequencies.

    why: early stopping leaves heads off their marginals. On ggplot2/diamonds this lifted
    univariate accuracy from 0.977 to 0.992. On plyr/baseball, games played sat two quantile bins
    low at every position in one training seed of four; a sequence compounds such an offset row
    after row, and that model's careers never rose to their peak. The shift has one parameter per
    code and is convex to fit, so it calibrates without learning single rows. Rows beyond
    CALIBRATION_VALUES logits in all are left out: give the batches in random order. It reads the training rows without noise: a
    differentially private training would have to leave it out.
    """
    was_training = model.training
    model.eval()
    masks = orders.canonical_masks()
    logits: list[list[torch.Tensor]] = []
    targets: list[torch.Tensor] = []
    budget = max(CALIBRATION_VALUES // max(sum(model.shape.cardinalities), 1), 1)
    with torch.no_grad():
        for codes, context in batches:
            logits.append(model(codes, masks, [len(codes)], context))
            targets.append(codes)
            budget -= len(codes)
            if budget <= 0:
                break
    if targets:
        y = torch.cat(targets)
        with torch.no_grad():
            for j, head in enumerate(model.heads):
                shift = _bias_shift(torch.cat([part[j] for part in logits]), y[:, j])
                head[-1].bias.add_(shift)
    model.train(was_training)


def _bias_shift(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The per-code shift of `logits` that minimises the cross-entropy to `target` (L-BFGS)."""
    shift = torch.zeros(logits.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([shift], max_iter=CALIBRATION_ITERATIONS, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits + shift, target) + CALIBRATION_L2 * (shift**2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return shift.detach()
