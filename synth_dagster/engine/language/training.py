"""Training a language model on "context -> text": batches of token rows, early stopping on the
validation loss (best weights kept), the tabular models' time, epoch and cancel knobs."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from synth_dagster.engine.errors import TrainingCanceled
from synth_dagster.engine.language.lstm import ContextLSTM
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck
from synth_dagster.engine.training import TrainingReport

PATIENCE = 4  # validations without improvement before stopping
MIN_RELATIVE_IMPROVEMENT = 0.002
VALIDATION_ROWS = 2048  # enough for a stable loss, few enough to validate often
STEPS_PER_VALIDATION = 100  # a long epoch is validated (and can stop) within the epoch
BUCKET_BATCHES = 32  # batches per length bucket: rows of similar length pad little


@dataclass(frozen=True)
class LanguageSettings:
    max_epochs: float = 100.0
    max_training_time: float | None = None  # minutes
    batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    max_sample_size: int | None = None
    random_state: int | None = None
    value_protection: bool = True
    learning_rate: float = 3e-3
    flexible: bool = False  # enable_flexible_generation: each row's language columns in a random order


@dataclass
class TokenRows:
    """Token rows (padded) with the positions whose targets are learned, and each row's context."""

    tokens: torch.Tensor  # [N, T]
    learned: torch.Tensor  # [N, T - 1] bool: the target at t + 1 is sampled, not forced
    lengths: np.ndarray
    codes: torch.Tensor  # [N, C]
    positions: torch.Tensor  # [N, T]: bytes of the column's value written up to each token

    def take(self, rows: np.ndarray) -> Batch:
        index = torch.from_numpy(rows)
        width = int(self.lengths[rows].max())
        return Batch(
            self.tokens[index, :width],
            self.learned[index, : width - 1],
            self.codes[index],
            self.positions[index, :width],
        )


@dataclass(frozen=True)
class Batch:
    tokens: torch.Tensor
    learned: torch.Tensor
    codes: torch.Tensor
    positions: torch.Tensor


def _loss(model: ContextLSTM, batch: Batch) -> torch.Tensor:
    state, bias = model.start(batch.codes)
    inputs, positions = batch.tokens[:, :-1], batch.positions[:, :-1]
    logits, _ = model(inputs, state, bias, positions, select=batch.learned)
    return nn.functional.cross_entropy(logits, batch.tokens[:, 1:][batch.learned])


@torch.no_grad()
def _validation_loss(model: ContextLSTM, rows: TokenRows, index: np.ndarray, batch: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(index), batch):
        chunk = index[start : start + batch]
        taken = rows.take(chunk)
        n = int(taken.learned.sum())
        total += float(_loss(model, taken)) * n
        count += n
    model.train()
    return total / max(count, 1)


def _batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of rows of similar length."""
    order = rng.permutation(len(lengths))
    bucket = batch * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), bucket):
        chunk = order[start : start + bucket]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _learning_rate(base: float, done: float) -> float:
    """Cosine decay to a tenth of `base` as the run (its steps or its time, what ends first) is
    `done`; why: the constant rate left the validation loss falling at the time limit."""
    return base * (0.1 + 0.45 * (1 + math.cos(math.pi * min(max(done, 0.0), 1.0))))


def auto_batch_size(n_rows: int) -> int:
    return int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 64)), 8, 64))


def train_language_model(
    model: ContextLSTM,
    rows: TokenRows,
    validation: np.ndarray,
    settings: LanguageSettings,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> TrainingReport:
    """Train `model` in place on the rows not in `validation` (bool per row); its best weights."""
    rng = np.random.default_rng(settings.random_state)
    train_index = np.flatnonzero(~validation)
    val_index = np.flatnonzero(validation)
    if len(val_index) > VALIDATION_ROWS:
        val_index = np.sort(rng.choice(val_index, VALIDATION_ROWS, replace=False))
    batch = settings.batch_size or auto_batch_size(len(train_index))
    accumulate = settings.gradient_accumulation_steps or 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=1e-5)
    budget = 60 * settings.max_training_time if settings.max_training_time else math.inf
    deadline = time.monotonic() + budget
    steps_per_epoch = max(math.ceil(len(train_index) / batch), 1)
    total_steps = max(int(settings.max_epochs * steps_per_epoch), 1) if settings.max_epochs else 0
    tracker = _Tracker(model, time.monotonic(), on_progress, total_steps, steps_per_epoch)
    every = min(steps_per_epoch, STEPS_PER_VALIDATION)
    model.train()
    step, reason = 0, "max_epochs"
    while step < total_steps and reason == "max_epochs":
        for chunk in _batches(rows.lengths[train_index], batch, rng):
            if should_stop():
                raise TrainingCanceled("training of the language model was canceled")
            loss = _loss(model, rows.take(train_index[chunk]))
            (loss / accumulate).backward()
            step += 1
            if step % accumulate == 0 or step == total_steps:
                done = max(step / max(total_steps, 1), (time.monotonic() - tracker.started) / budget)
                for group in optimizer.param_groups:
                    group["lr"] = _learning_rate(settings.learning_rate, done)
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            tracker.loss(float(loss.detach()))
            if step % every == 0 or step == total_steps or time.monotonic() > deadline:
                val = _validation_loss(model, rows, val_index, 256) if len(val_index) else tracker.train_loss
                if tracker.validate(step, val):
                    reason = "early_stopping"
            if time.monotonic() > deadline:
                reason = "max_training_time"
            if reason != "max_epochs" or step >= total_steps:
                break
    return tracker.finish(step, reason)


class _Tracker:
    """Losses, the best weights so far and the progress events."""

    def __init__(
        self, model: ContextLSTM, started: float, on_progress: ProgressCallback, total: int, per_epoch: int
    ):
        self.model, self.started, self.on_progress = model, started, on_progress
        self.total, self.per_epoch = total, per_epoch
        self.best, self.best_state, self.stale = math.inf, copy.deepcopy(model.state_dict()), 0
        self.train_loss = math.nan
        self.losses: list[float] = []

    def loss(self, value: float) -> None:
        self.losses.append(value)

    def validate(self, step: int, val: float) -> bool:
        """Record a validation; True when training should stop early."""
        self.train_loss = float(np.mean(self.losses)) if self.losses else math.nan
        self.losses = []
        if val < self.best * (1 - MIN_RELATIVE_IMPROVEMENT):
            self.stale = 0
        else:
            self.stale += 1
        if val < self.best:
            self.best, self.best_state = val, copy.deepcopy(self.model.state_dict())
        self.on_progress(
            EngineProgress(
                "TRAIN_MODEL",
                step,
                max(self.total, step),
                f"language model: step {step}, loss {self.train_loss:.3f}, val loss {val:.3f}",
                epoch=step / self.per_epoch,
                loss=self.train_loss,
                val_loss=val,
                elapsed=time.monotonic() - self.started,
            )
        )
        return self.stale >= PATIENCE

    def finish(self, step: int, reason: str) -> TrainingReport:
        self.model.load_state_dict(self.best_state)
        self.model.eval()
        return TrainingReport(
            epochs=step / self.per_epoch,
            steps=step,
            best_val_loss=self.best,
            seconds=time.monotonic() - self.started,
            stop_reason=reason,
        )
