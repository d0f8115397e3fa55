"""Fitting a sequence table: which columns are relative, a fresh network, and the training loop
over batches of whole sequences with its calibration."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.analysis import ColumnPlan
from synth_dagster.engine.constraints import constraint_columns
from synth_dagster.engine.encoding.base import protected_bounds
from synth_dagster.engine.encoding.private import dp_bounds
from synth_dagster.engine.encoding.relative import rising_columns
from synth_dagster.engine.flat import FlatOptions, shape_for, training_settings
from synth_dagster.engine.flat.frames import dp_budgets
from synth_dagster.engine.model import ModelShape, TabularARGN
from synth_dagster.engine.progress import ProgressCallback, StopCheck
from synth_dagster.engine.sequence.batches import SequenceBatches
from synth_dagster.engine.sequence.network import (
    SequenceContext,
    SequenceNetwork,
    ordinal_codes,
    repeat_sub_columns,
)
from synth_dagster.engine.training import (
    TrainingReport,
    TrainingSettings,
    calibrate_output_biases,
    resolve_seed,
    run_training,
)

# Weight decay of sequence models: stronger than a flat table's, since a sequence's rows make each
# other easy to predict and the model otherwise learns single training sequences by heart.
SEQUENCE_WEIGHT_DECAY = 0.1


def relative_columns(
    frame: pd.DataFrame, parent_of_row: np.ndarray, options: FlatOptions
) -> tuple[list[str], dict[str, str], FlatOptions]:
    """The relative columns (TABULAR_DATETIME_RELATIVE ones, then rising numbers), the rising ones
    with their dtypes, and the options of the row model (relative datetimes encoded as datetimes)."""
    relative = [c for c, e in options.encoding_types.items() if e == "TABULAR_DATETIME_RELATIVE"]
    constrained = {c for k in options.constraints for c in constraint_columns(k) or []}
    rising = rising_columns(frame, parent_of_row, options.encoding_types, constrained)
    relative += list(rising)
    encoding_types = {
        c: ("TABULAR_DATETIME" if e == "TABULAR_DATETIME_RELATIVE" else e)
        for c, e in options.encoding_types.items()
    }
    return relative, rising, dataclasses.replace(options, encoding_types=encoding_types)


def sequence_network(
    plans: list[ColumnPlan], parent_cards: tuple[int, ...], options: FlatOptions
) -> tuple[SequenceNetwork, ModelShape, int]:
    """A fresh network for the rows of `plans` under parents of `parent_cards`, its row shape and
    the training seed (the row model is initialised from it)."""
    size = options.model_size
    repeat = repeat_sub_columns(plans)
    context = SequenceContext(
        parent_cards,
        tuple(s.cardinality for p in plans for s in p.sub_columns()),
        size,
        ordinal_codes(plans),
        repeat,
    )
    shape = dataclasses.replace(shape_for(plans, size, context.context_dim), repeat=repeat)
    seed = resolve_seed(options.random_state)
    torch.manual_seed(seed)
    return SequenceNetwork(TabularARGN(shape), context), shape, seed


def sequence_settings(options: FlatOptions, seed: int) -> TrainingSettings:
    return dataclasses.replace(training_settings(options, seed), weight_decay=SEQUENCE_WEIGHT_DECAY)


def train_sequences(
    batches: SequenceBatches,
    validation_parents: np.ndarray,
    seed: int,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> TrainingReport:
    """Train on the sequences of parents not kept for validation, then calibrate the heads."""
    network = batches.network
    train_parents, val_parents = batches.split_parents(validation_parents)
    report = run_training(
        network,
        lambda: batches.epoch(train_parents),
        lambda: batches.validation(val_parents),
        batches.steps_per_epoch(train_parents),
        batches.rows_per_batch,
        batches.settings,
        on_progress,
        should_stop,
    )
    # in random order: a large table is calibrated on a random part of its sequences
    shuffled = np.random.default_rng(seed).permutation(train_parents)
    calibrate_output_biases(network.argn, batches.rows_and_contexts(shuffled), batches.orders)
    return report


def rising_bounds(
    frame: pd.DataFrame,
    rising: Mapping[str, str],
    options: FlatOptions,
    holders: np.ndarray,
    columns: list[str],
) -> dict[str, tuple[float, float]]:
    """The range the accumulated values of rising columns may take: value protection's, as for
    any number (with differential privacy, a DP range on the column's share of the budget)."""
    budgets = dp_budgets(options, columns, tuple(rising))
    out = {}
    for c in rising:
        values = frame[c].to_numpy(dtype=np.float64)
        if c in budgets:
            out[c] = dp_bounds(values, holders, budgets[c], salt=f"rising {c}")
        else:
            out[c] = protected_bounds(values, options.value_protection, holders)
    return out
