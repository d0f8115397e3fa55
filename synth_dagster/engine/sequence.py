"""Sequence tables: the rows of a child table that share one parent row, learned and drawn together.

A sequence's rows are drawn one after another by the table's TabularARGN. Its context vector
carries, for every row, the parent row (and the parent's ancestors), the rows drawn before it
(a GRU over the sequence) and its position: how far into the sequence it is and how many rows
remain. The number of rows per parent is not learned here: it is a column of the parent's model
(see `generator.py`), so lengths follow the parent's other columns, zero included.

`max_sequence_window` caps the rows a training step sees: longer sequences are trained on a
random window each epoch. TABULAR_DATETIME_RELATIVE columns are modelled as the first value of a
sequence plus the gaps between consecutive rows, so that dates stay ordered; so are numeric
columns that never fall within a training sequence (`rising_columns`: a season's year, a running
total), so that generated sequences never go back either.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from synth_dagster.engine.analysis import ColumnPlan
from synth_dagster.engine.constraints import constraint_columns
from synth_dagster.engine.encoding.base import protected_bounds
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat import (
    FlatGenerator,
    FlatOptions,
    allowed_codes,
    analyze_frame,
    encode_frame,
    shape_for,
    training_settings,
)
from synth_dagster.engine.model import TabularARGN, embedding_width
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress
from synth_dagster.engine.sampling import SamplingControls
from synth_dagster.engine.training import (
    ColumnOrders,
    TrainingSettings,
    auto_batch_size,
    calibrate_output_biases,
    resolve_seed,
    run_training,
    start_at_marginals,
)

# name: (parent width, history width, context width)
WIDTHS = {"small": (32, 64, 32), "medium": (64, 128, 64), "large": (96, 192, 96)}
# Positions (and remaining rows) beyond this share one embedding.
POSITIONS = 32
POSITION_WIDTH = 16
# Dropout on the context's embeddings, at every model size: without it a small table's context
# net can settle on memorising sequences before it finds the parent columns that matter.
CONTEXT_DROPOUT = {"small": 0.2, "medium": 0.2, "large": 0.25}
# Weight decay of sequence models: stronger than a flat table's, since a sequence's rows make each
# other easy to predict and the model otherwise learns single training sequences by heart.
SEQUENCE_WEIGHT_DECAY = 0.1
GAP_SUFFIX = "::gap"
# a rising column's value in the previous row: the absolute value the other columns see
LAST_SUFFIX = "::last"
SEQUENCE_FILE = "sequence.pt"
SEQUENCE_META = "sequence.json"
VALIDATION_SHARE = 0.1
# Dropout on the previous row's embeddings as the heads read them. They make the next row easy to
# predict from the last one alone, and without it the model learns single training transitions by
# heart within a few epochs: on plyr/baseball the validation loss was best at epoch 3 and the result
# varied widely with the seed; with it, at epoch 9 to 12, lower, and accuracy held steady.
LAG_DROPOUT = 0.5
REPEAT_ENCODINGS = frozenset({"TABULAR_CATEGORICAL"})


class SequenceContext(nn.Module):
    """The context vector of every row of a sequence: parent row, history, position, previous row.

    Its last part is the previous row's embeddings as they are (zeros for a first row): every
    head then reads the previous values of its own and the other columns through one linear map,
    which carries transitions between successive rows (the same team, the next year) that a
    compressed history alone learns slowly on wide tables.
    """

    def __init__(
        self,
        parent_cards: tuple[int, ...],
        row_cards: tuple[int, ...],
        size: str,
        ordinal: Mapping[int, np.ndarray] | None = None,
        repeat: tuple[int, ...] = (),
    ):
        super().__init__()
        # the previous row's codes of these sub-columns end the context (`ModelShape.repeat`)
        self.repeat = tuple(repeat)
        parent_width, history, context = WIDTHS[size]
        # Numbers' codes are ordered: a row's numbers are also read as positions in [0, 1] (see
        # `ordinal_codes`), so that "about as many games as last season" is one weight per column
        # instead of a relation between dozens of separately learned embeddings.
        ordinal = dict(ordinal or {})
        self.ordinal_columns = sorted(ordinal)
        for j in self.ordinal_columns:
            self.register_buffer(f"ordinal_{j}", torch.as_tensor(ordinal[j], dtype=torch.float32))
        self.parent_embeddings = nn.ModuleList(nn.Embedding(c, embedding_width(c, 12)) for c in parent_cards)
        embedded_parent = sum(e.embedding_dim for e in self.parent_embeddings)
        self.parent_proj = nn.Linear(max(embedded_parent, 1), parent_width)
        self.row_embeddings = nn.ModuleList(nn.Embedding(c, embedding_width(c, 12)) for c in row_cards)
        self.row_width = sum(e.embedding_dim for e in self.row_embeddings) + len(self.ordinal_columns)
        self.row_proj = nn.Linear(self.row_width, history)
        self.start = nn.Parameter(torch.zeros(history))
        self.gru = nn.GRU(history, history, batch_first=True)
        self.init_state = nn.Linear(parent_width, history)
        self.position = nn.Embedding(POSITIONS, POSITION_WIDTH)
        self.remaining = nn.Embedding(POSITIONS, POSITION_WIDTH)
        self.out = nn.Linear(parent_width + history + 2 * POSITION_WIDTH, context)
        self.dropout = nn.Dropout(CONTEXT_DROPOUT[size])
        self.context_dim = context + self.row_width  # the dense part; the repeat codes follow

    def parent_vector(self, parent_codes: torch.Tensor) -> torch.Tensor:
        if not len(self.parent_embeddings):
            return torch.relu(self.parent_proj(torch.zeros(len(parent_codes), 1)))
        embedded = torch.cat([e(parent_codes[:, k]) for k, e in enumerate(self.parent_embeddings)], 1)
        return torch.relu(self.parent_proj(self.dropout(embedded)))

    def initial_state(self, parent: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.init_state(parent))

    def row_embedding(self, codes: torch.Tensor) -> torch.Tensor:
        embedded = torch.cat([e(codes[..., j]) for j, e in enumerate(self.row_embeddings)], -1)
        if not self.ordinal_columns:
            return self.dropout(embedded)
        scalars = [getattr(self, f"ordinal_{j}")[codes[..., j]] for j in self.ordinal_columns]
        return torch.cat([self.dropout(embedded), torch.stack(scalars, -1)], -1)

    def combine(
        self,
        parent: torch.Tensor,
        history: torch.Tensor,
        previous: torch.Tensor,
        position: torch.Tensor,
        remaining: torch.Tensor,
    ) -> torch.Tensor:
        parts = [
            parent,
            history,
            self.position(position.clamp(0, POSITIONS - 1)),
            self.remaining(remaining.clamp(0, POSITIONS - 1)),
        ]
        previous = nn.functional.dropout(previous, LAG_DROPOUT, self.training)
        return torch.cat([torch.relu(self.out(torch.cat(parts, -1))), previous], -1)

    def forward(
        self,
        parent_codes: torch.Tensor,
        row_codes: torch.Tensor,
        position: torch.Tensor,
        remaining: torch.Tensor,
    ) -> torch.Tensor:
        """Context [N, T, context_dim] for row_codes [N, T, J]; row t sees rows before t only."""
        n, steps = row_codes.shape[:2]
        parent = self.parent_vector(parent_codes)
        embedded = self.row_embedding(row_codes)
        previous = torch.cat([embedded.new_zeros(n, 1, self.row_width), embedded[:, :-1]], 1)
        inputs = torch.relu(self.row_proj(embedded))
        inputs = torch.cat([self.start.expand(n, 1, -1), inputs[:, :-1]], 1)
        history, _ = self.gru(inputs, self.initial_state(parent)[None])
        dense = self.combine(parent[:, None].expand(-1, steps, -1), history, previous, position, remaining)
        if not self.repeat:
            return dense
        shifted = torch.cat([row_codes.new_full((n, 1, row_codes.shape[2]), -1), row_codes[:, :-1]], 1)
        return self._with_repeat_codes(dense, shifted)

    def step(
        self,
        parent: torch.Tensor,
        state: torch.Tensor,
        previous_codes: torch.Tensor | None,
        position: torch.Tensor,
        remaining: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One generation step: (context [N, context_dim], new state) from the previous row's codes."""
        if previous_codes is None:
            previous = parent.new_zeros(len(parent), self.row_width)
            inputs = self.start.expand(len(parent), -1)
        else:
            previous = self.row_embedding(previous_codes)
            inputs = torch.relu(self.row_proj(previous))
        _, hidden = self.gru(inputs[:, None], state[None])
        state = hidden[0]
        dense = self.combine(parent, state, previous, position, remaining)
        return self._with_repeat_codes(dense, previous_codes), state

    def _with_repeat_codes(self, dense: torch.Tensor, previous_codes: torch.Tensor | None) -> torch.Tensor:
        """The context: `dense`, then the previous row's repeat codes as floats (-1: first row)."""
        if not self.repeat:
            return dense
        if previous_codes is None:
            last = dense.new_full((*dense.shape[:-1], len(self.repeat)), -1.0)
        else:
            last = previous_codes[..., list(self.repeat)].to(dense.dtype)
        return torch.cat([dense, last], -1)


def ordinal_codes(plans: list[ColumnPlan]) -> dict[int, np.ndarray]:
    """Numbers' ordered codes as positions in [0, 1], by sub-column: a binned number's coarse
    (quantile) bin, a discrete number's value rank. Empty and rare codes are 0."""
    out: dict[int, np.ndarray] = {}
    j = 0
    for plan in plans:
        subs = plan.sub_columns()
        kind = plan.stats.get("kind") if plan.encoding_type.startswith("TABULAR_NUMERIC") else None
        first = {"BINNED": 1, "DISCRETE": 2}.get(kind or "")
        if first is not None:
            n = subs[0].cardinality - first
            values = np.zeros(subs[0].cardinality)
            values[first:] = np.linspace(0.0, 1.0, n) if n > 1 else 0.5
            out[j] = values
        j += len(subs)
    return out


def repeat_sub_columns(plans: list[ColumnPlan]) -> tuple[int, ...]:
    """Categorical columns' sub-columns: each row may repeat the value of the row before."""
    out: list[int] = []
    j = 0
    for plan in plans:
        if plan.encoding_type in REPEAT_ENCODINGS:
            out.append(j)
        j += len(plan.sub_columns())
    return tuple(out)


class SequenceNetwork(nn.Module):
    def __init__(self, argn: TabularARGN, context: SequenceContext):
        super().__init__()
        self.argn = argn
        self.context = context


@dataclass
class SequenceLayout:
    """Where each sequence's rows are in the (parent-ordered) training rows."""

    starts: np.ndarray  # first row of each parent's sequence
    lengths: np.ndarray  # rows per parent (0 for parents without children)

    @classmethod
    def of(cls, parent_of_row: np.ndarray, n_parents: int) -> SequenceLayout:
        lengths = np.bincount(parent_of_row, minlength=n_parents)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(starts, lengths)


# ---------------------------------------------------------------- relative columns
def rising_columns(
    frame: pd.DataFrame,
    parent_of_row: np.ndarray,
    encoding_types: Mapping[str, str],
    excluded: Collection[str] = (),
) -> dict[str, str]:
    """Numeric columns (AUTO encoding, no empty values) that never fall within a training sequence
    and rise in some, with their dtypes: a year of a career, a running total, a version number.
    `excluded`: columns left absolute (those a constraint names).

    They are modelled like TABULAR_DATETIME_RELATIVE columns, as a first value plus the gaps, so
    that generated sequences never go back. As absolute values the model learns "the next year is
    this one or the one after" poorly: on plyr/baseball 15% of generated seasons went back in time.
    """
    same = parent_of_row[1:] == parent_of_row[:-1] if len(frame) > 1 else np.zeros(0, dtype=bool)
    if not same.any():
        return {}
    found = {}
    for column in frame.columns:
        values = frame[column]
        if column in encoding_types or column in excluded or str(column).startswith("__"):
            continue  # an encoding chosen by the user, a constraint's column, an engine helper
        if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
            continue
        if values.isna().any():
            continue
        steps = np.diff(values.to_numpy(dtype=np.float64))[same]
        if (steps >= 0).all() and (steps > 0).any():
            found[str(column)] = str(values.dtype)
    return found


def relative_forward(
    frame: pd.DataFrame, parent_of_row: np.ndarray, columns: list[str], numeric: Collection[str] = ()
) -> pd.DataFrame:
    """Each relative column becomes its first value per sequence and the gaps: in seconds for
    datetimes, in the column's unit for the `numeric` ones."""
    frame = frame.copy()
    keys = pd.Series(parent_of_row, index=frame.index)
    for column in columns:
        is_number = column in numeric
        values = (
            pd.to_numeric(frame[column], errors="coerce").astype("float64")
            if is_number
            else _as_datetime(frame[column], column)
        )
        previous = values.groupby(keys).ffill().groupby(keys).shift(1)
        gaps = values - previous
        position = frame.columns.get_loc(column)
        frame[column] = values.where(previous.isna())
        frame.insert(position + 1, column + GAP_SUFFIX, gaps if is_number else gaps.dt.total_seconds())
        if is_number:  # first: every column of the row, the gap included, is drawn seeing it
            frame.insert(position, column + LAST_SUFFIX, previous)
    return frame


def relative_inverse(
    frame: pd.DataFrame,
    parent_of_row: np.ndarray,
    columns: list[str],
    fixed: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Back from first values and gaps to datetimes, accumulating gaps within each sequence.

    `fixed` holds exact values (seeded rows) per column, NaT elsewhere; later gaps build on them.
    """
    frame = frame.copy()
    for column in columns:
        exact = (fixed or {}).get(column)
        anchors = pd.to_datetime(frame[column]).to_numpy(dtype="datetime64[ns]")
        gaps = pd.to_numeric(frame.pop(column + GAP_SUFFIX), errors="coerce").to_numpy(dtype=float)
        out = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
        last, last_parent = np.datetime64("NaT"), -1
        for i in range(len(frame)):
            if parent_of_row[i] != last_parent:
                last, last_parent = np.datetime64("NaT"), parent_of_row[i]
            if exact is not None and not np.isnat(exact[i]):
                out[i] = exact[i]
            elif np.isnat(last):
                out[i] = anchors[i]  # the first value of a sequence is absolute
            elif not math.isnan(gaps[i]):
                out[i] = last + np.timedelta64(int(round(gaps[i] * 1e9)), "ns")
            elif not np.isnat(anchors[i]):
                # a rare slip of the model (an absolute value after the first): keep the order
                out[i] = max(anchors[i], last)
            if not np.isnat(out[i]):
                last = out[i]
        frame[column] = pd.Series(out, index=frame.index)
    return frame


def _as_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """Accumulated numbers back in their source dtype (integers rounded; nullable if empty)."""
    if not pd.api.types.is_integer_dtype(pd.api.types.pandas_dtype(dtype)):
        return values.astype(dtype)
    rounded = values.round()
    return rounded.astype(dtype) if rounded.notna().all() else rounded.astype("Int64")


def _as_datetime(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dtype, "tz", None) is not None:
            return values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values
    try:
        return pd.to_datetime(values)
    except (TypeError, ValueError) as exc:
        raise EngineInputError(
            f"column {column!r} is set to TABULAR_DATETIME_RELATIVE but its values are not datetimes "
            f"({exc}); convert it with pd.to_datetime or choose another encoding"
        ) from exc


# ---------------------------------------------------------------- the generator
class SequenceGenerator:
    """A child table under a context foreign key: sequences of rows per parent row."""

    def __init__(
        self,
        rows: FlatGenerator,
        context: SequenceContext,
        parent_cards: tuple[int, ...],
        relative: list[str],
        window: int | None,
        relative_nulls: Mapping[str, bool] | None = None,
        rising: Mapping[str, str] | None = None,
        rising_bounds: Mapping[str, tuple[float, float]] | None = None,
    ):
        self.rows = rows
        self.context = context
        self.parent_cards = parent_cards
        self.relative = relative
        self.window = window
        # relative datetime columns that had empty values in training (those may be drawn empty)
        self.relative_nulls = dict(relative_nulls or {})
        # the numeric ones among `relative` (see `rising_columns`), with their source dtypes
        self.rising = dict(rising or {})
        # the range their accumulated values may take (value protection's, as for any number)
        self.rising_bounds = {c: (float(lo), float(hi)) for c, (lo, hi) in (rising_bounds or {}).items()}
        self.training_codes = np.zeros((0, len(rows.model.shape.cardinalities)), dtype=np.int64)

    @property
    def report(self):  # noqa: ANN201 - the rows' TrainingReport
        return self.rows.report

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        parent_of_row: np.ndarray,
        parent_codes: np.ndarray,
        parent_cards: tuple[int, ...],
        validation_parents: np.ndarray,
        options: FlatOptions,
        window: int | None = None,
        on_progress: ProgressCallback = no_progress,
        should_stop: StopCheck = never_stop,
        subjects: np.ndarray | None = None,
        column_subjects: Mapping[str, np.ndarray | None] | None = None,
    ) -> SequenceGenerator:
        """Learn the sequences of `frame` (rows ordered by parent, then by position).

        parent_of_row: each row's parent (an index into parent_codes); validation_parents: bool per
        parent, whose sequences are kept for validation; subjects: each row's subject for value
        protection (the root of a chain of context keys; default: the parent); column_subjects:
        columns protected otherwise (see `flat.analyze_frame`).
        """
        started = time.monotonic()
        if len(frame) and np.any(np.diff(parent_of_row) < 0):
            raise ValueError("rows must be ordered by parent")
        relative = [c for c, e in options.encoding_types.items() if e == "TABULAR_DATETIME_RELATIVE"]
        constrained = {c for k in options.constraints for c in constraint_columns(k) or []}
        rising = rising_columns(frame, parent_of_row, options.encoding_types, constrained)
        relative += list(rising)
        encoding_types = {
            c: ("TABULAR_DATETIME" if e == "TABULAR_DATETIME_RELATIVE" else e)
            for c, e in options.encoding_types.items()
        }
        row_options = FlatOptions(**{**vars(options), "encoding_types": encoding_types})
        on_progress(EngineProgress("ANALYZE", 0, 1, "analyzing columns"))
        source = relative_forward(frame, parent_of_row, relative, rising)
        holders = parent_of_row if subjects is None else subjects
        transforms, plans, model_frame = analyze_frame(
            source, row_options, subjects=holders, column_subjects=column_subjects
        )
        on_progress(EngineProgress("ENCODE", 0, 1, "encoding"))
        codes = encode_frame(model_frame, plans)
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
        argn = TabularARGN(shape)
        network = SequenceNetwork(argn, context)
        layout = SequenceLayout.of(parent_of_row, len(parent_codes))
        is_validation = validation_parents[parent_of_row] if len(frame) else np.zeros(0, dtype=bool)
        start_at_marginals(argn, codes[~is_validation] if (~is_validation).any() else codes)
        settings = training_settings(options, seed)
        settings.weight_decay = SEQUENCE_WEIGHT_DECAY
        trainer = _SequenceBatches(network, codes, parent_codes, layout, window, settings, seed)
        with_rows = layout.lengths > 0
        train_parents = np.flatnonzero(with_rows & ~validation_parents)
        val_parents = np.flatnonzero(with_rows & validation_parents)
        if not len(val_parents):
            val_parents = train_parents[: max(1, len(train_parents) // 10)]
        report = run_training(
            network,
            lambda: trainer.epoch(train_parents),
            lambda: trainer.validation(val_parents),
            trainer.steps_per_epoch(train_parents),
            trainer.rows_per_batch,
            settings,
            on_progress,
            should_stop,
        )
        # in random order: a large table is calibrated on a random part of its sequences
        shuffled = np.random.default_rng(seed).permutation(train_parents)
        calibrate_output_biases(argn, trainer.rows_and_contexts(shuffled), trainer.orders)
        report.seconds = time.monotonic() - started
        rows = FlatGenerator(
            plans,
            argn,
            allowed_codes(codes, shape),
            transforms,
            row_options,
            list(source.columns),
            report,
            frame.index.to_numpy()[is_validation],
            len(frame),
        )
        nulls = {c: bool(frame[c].isna().any()) for c in relative}
        bounds = {
            c: protected_bounds(frame[c].to_numpy(dtype=np.float64), options.value_protection, holders)
            for c in rising
        }
        fitted = cls(rows, context, parent_cards, relative, window, nulls, rising, bounds)
        fitted.training_codes = codes
        return fitted

    # -------------------------------------------------------------- generation
    @torch.inference_mode()
    def sample(
        self,
        parent_codes: np.ndarray,
        lengths: np.ndarray,
        seed: pd.DataFrame | None = None,
        seed_parent: np.ndarray | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        random_state: int | None = None,
        on_progress: ProgressCallback = no_progress,
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(rows, parent of each row, codes): sequences of `lengths[i]` rows under parent row i.

        `seed` rows (columns of this table, without keys) start the sequence of parent
        `seed_parent[k]`, in their order; a sequence is at least as long as its seed.
        """
        rng = np.random.default_rng(random_state)
        generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
        lengths = np.asarray(lengths, dtype=np.int64).copy()
        n_sub = len(self.rows.model.shape.cardinalities)
        seed_fixed, seed_given, seed_step = self._seed_codes(seed, seed_parent)
        if seed is not None and len(seed):
            assert seed_parent is not None
            lengths = np.maximum(lengths, np.bincount(seed_parent, minlength=len(lengths)))
        controls = SamplingControls(temperature, top_p, [a.copy() for a in self.rows.allowed], {})
        parent = self.context.parent_vector(torch.from_numpy(parent_codes))
        state = self.context.initial_state(parent)
        previous = torch.zeros(len(lengths), n_sub, dtype=torch.long)
        total = int(lengths.sum())
        parts_rows, parts_parent, parts_step = [], [], []
        # rising columns: each sequence's value so far, and every drawn row's value
        rising_last = {c: np.full(len(lengths), np.nan) for c in self.rising}
        parts_rising: dict[str, list[np.ndarray]] = {c: [] for c in self.rising}
        seed_exact = self._seed_values(seed)
        done = 0
        for t in range(int(lengths.max()) if len(lengths) else 0):
            active = np.flatnonzero(lengths > t)
            active_t = torch.from_numpy(active)
            ctx, new_state = self.context.step(
                parent[active_t],
                state[active_t],
                previous[active_t] if t > 0 else None,
                torch.full((len(active),), t, dtype=torch.long),
                torch.from_numpy(lengths[active] - 1 - t),
            )
            fixed = np.full((len(active), n_sub), -1, dtype=np.int64)
            given = np.zeros((len(active), len(self.rows.plans)), dtype=bool)
            at_step = where = np.zeros(0, dtype=np.int64)  # seed rows of this step, and their rows here
            if seed_fixed is not None and seed_parent is not None:
                at_step = np.flatnonzero(seed_step == t)
                where = np.searchsorted(active, seed_parent[at_step])
                fixed[where] = seed_fixed[at_step]
                given[where] = seed_given[at_step]
            if self.rising:
                # the value of the row before is known: the row is drawn seeing it
                last = pd.DataFrame({c + LAST_SUFFIX: v[active] for c, v in rising_last.items()})
                last_fixed, last_given = self.rows._fixed_codes(last, set())
                take = (fixed < 0) & (last_fixed >= 0)
                fixed[take] = last_fixed[take]
                given |= last_given
            controls.row_allowed = self._relative_masks(t, len(active))
            codes = self.rows.draw(fixed, given, controls, generator, context=ctx)
            if self.rising:
                seeded = {c: (where, v[at_step]) for c, v in seed_exact.items()}
                self._rise(codes, active, rising_last, parts_rising, seeded, rng)
            codes_t = torch.from_numpy(codes)
            state[active_t] = new_state
            previous[active_t] = codes_t
            parts_rows.append(codes)
            parts_parent.append(active)
            parts_step.append(np.full(len(active), t))
            done += len(active)
            on_progress(EngineProgress("GENERATE_DATA", done, total, f"{done} of {total} rows"))
        if not parts_rows:
            empty = self.rows._decode(np.zeros((0, n_sub), dtype=np.int64), rng)
            empty = self._without_rising_helpers(self.rows.transforms.inverse(empty, rng), {})
            empty = relative_inverse(empty, np.zeros(0, np.int64), self._datetimes)
            return empty, np.zeros(0, dtype=np.int64), np.zeros((0, n_sub), dtype=np.int64)
        all_codes = np.concatenate(parts_rows)
        parent_of_row = np.concatenate(parts_parent)
        step = np.concatenate(parts_step)
        order = np.lexsort((step, parent_of_row))
        all_codes, parent_of_row, step = all_codes[order], parent_of_row[order], step[order]
        out = self.rows.decode_rows(all_codes, rng, pd.DataFrame(index=pd.RangeIndex(len(all_codes))))
        # rising columns: the values accumulated while drawing (the rows were drawn seeing them)
        out = self._without_rising_helpers(
            out, {c: np.concatenate(parts)[order] for c, parts in parts_rising.items()}
        )
        fixed: dict[str, np.ndarray] = {}
        if seed is not None and len(seed):
            assert seed_parent is not None and seed_step is not None
            rows_of_seed = seed_rows(parent_of_row, seed_parent)
            for column in self.relative:
                if column in seed.columns and column not in self.rising:
                    exact = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
                    exact[rows_of_seed] = _as_datetime(seed[column], column).to_numpy(dtype="datetime64[ns]")
                    fixed[column] = exact
        out = relative_inverse(out, parent_of_row, self._datetimes, fixed)
        if seed is not None and len(seed):
            for column in seed.columns:
                out[column] = _overlay_at(out[column], rows_of_seed, seed[column])
        return out, parent_of_row, all_codes

    @property
    def _datetimes(self) -> list[str]:
        """The TABULAR_DATETIME_RELATIVE columns (the other relative columns are rising numbers)."""
        return [c for c in self.relative if c not in self.rising]

    def _without_rising_helpers(self, frame: pd.DataFrame, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Rising columns as one column each, with `values` (empty where not given), source dtypes."""
        frame = frame.drop(columns=[c + s for c in self.rising for s in (GAP_SUFFIX, LAST_SUFFIX)])
        for column, dtype in self.rising.items():
            drawn = values.get(column, np.full(len(frame), np.nan))
            frame[column] = _as_dtype(pd.Series(drawn, index=frame.index), dtype)
        return frame

    def _seed_values(self, seed: pd.DataFrame | None) -> dict[str, np.ndarray]:
        """Per rising column in the seed: the value of every seeded row (NaN where not given)."""
        if seed is None:
            return {}
        return {
            c: pd.to_numeric(seed[c], errors="coerce").to_numpy(dtype=float)
            for c in self.rising
            if c in seed.columns
        }

    def _rise(
        self,
        codes: np.ndarray,
        active: np.ndarray,
        last: dict[str, np.ndarray],
        parts: dict[str, list[np.ndarray]],
        seeded: Mapping[str, tuple[np.ndarray, np.ndarray]],
        rng: np.random.Generator,
    ) -> None:
        """The values of rising columns in the rows just drawn: the first value, then the last value
        plus the drawn gap, within value protection's range; `seeded` values (rows among the drawn
        ones, values) as they are."""
        names = [n for c in self.rising for n in (c, c + GAP_SUFFIX)]
        decoded = self.rows._decode(codes, rng, only=names)
        for column in self.rising:
            anchor = pd.to_numeric(decoded[column], errors="coerce").to_numpy(dtype=float)
            gap = pd.to_numeric(decoded[column + GAP_SUFFIX], errors="coerce").to_numpy(dtype=float)
            before = last[column][active]
            value = np.where(np.isnan(before), anchor, before + np.nan_to_num(gap, nan=0.0))
            value = np.clip(value, *self.rising_bounds[column])
            if column in seeded:
                rows, exact = seeded[column]
                known = ~np.isnan(exact)
                value[rows[known]] = exact[known]
            last[column][active] = value
            parts[column].append(value)

    def _relative_masks(self, step: int, n: int) -> dict[int, np.ndarray]:
        """Keep relative columns well-formed: an absolute first value, then gaps only.

        The part left empty gets code 0 in every one of its sub-columns, as an empty value has in
        training, so that no later sub-column (the fine bin of an empty number, say) can show the
        history a row it never saw.
        Applies to columns without empty values in training (code 0 is empty in every encoding).
        """
        masks: dict[int, np.ndarray] = {}
        index = {p.name: i for i, p in enumerate(self.rows.plans)}
        for column in self.relative:
            if self.relative_nulls.get(column, True):
                continue
            anchor = self.rows._sub_ranges[index[column]]
            gap = self.rows._sub_ranges[index[column + GAP_SUFFIX]]
            for (first, stop), empty in ((anchor, step > 0), (gap, step == 0)):
                for j in range(first, stop) if empty else [first]:
                    allowed = np.zeros_like(self.rows.allowed[j]) if empty else self.rows.allowed[j].copy()
                    allowed[0] = empty
                    if allowed.any():
                        masks[j] = np.repeat(allowed[None, :], n, axis=0)
        return masks

    def _seed_codes(
        self, seed: pd.DataFrame | None, seed_parent: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        if seed is None or not len(seed):
            return None, None, None
        assert seed_parent is not None
        order = np.argsort(seed_parent, kind="stable")
        if not np.array_equal(order, np.arange(len(order))):
            raise ValueError("seed rows must be ordered by parent")
        seed_step = pd.Series(seed_parent).groupby(seed_parent).cumcount().to_numpy()
        source = seed.reset_index(drop=True)
        present_relative = [c for c in self.relative if c in source.columns]
        source = relative_forward(source, seed_parent, present_relative, self.rising)
        model_seed = self.rows.transforms.forward(source, partial=True)
        fixed, given = self.rows._fixed_codes(model_seed, set())
        return fixed, given, seed_step

    # --------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        directory = Path(directory)
        self.rows.save(directory)
        torch.save(self.context.state_dict(), directory / SEQUENCE_FILE)
        meta = {
            "parent_cards": list(self.parent_cards),
            "relative": self.relative,
            "window": self.window,
            "size": self.rows.model.shape.size,
            "relative_nulls": self.relative_nulls,
            "rising": self.rising,
            "rising_bounds": self.rising_bounds,
            "ordinal": bool(self.context.ordinal_columns),
        }
        (directory / SEQUENCE_META).write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> SequenceGenerator:
        directory = Path(directory)
        meta = json.loads((directory / SEQUENCE_META).read_text())
        rows = FlatGenerator.load(directory)
        context = SequenceContext(
            tuple(meta["parent_cards"]),
            tuple(rows.model.shape.cardinalities),
            meta["size"],
            ordinal_codes(rows.plans) if meta.get("ordinal") else None,
            rows.model.shape.repeat,
        )
        context.load_state_dict(torch.load(directory / SEQUENCE_FILE, weights_only=True))
        context.eval()
        return cls(
            rows,
            context,
            tuple(meta["parent_cards"]),
            meta["relative"],
            meta["window"],
            meta.get("relative_nulls"),
            meta.get("rising"),
            meta.get("rising_bounds"),
        )


class _SequenceBatches:
    """Training batches of whole sequences (or windows of long ones), flattened to rows."""

    def __init__(
        self,
        network: SequenceNetwork,
        codes: np.ndarray,
        parent_codes: np.ndarray,
        layout: SequenceLayout,
        window: int | None,
        settings: TrainingSettings,
        seed: int,
    ):
        self.network = network
        self.codes = torch.from_numpy(codes)
        self.parent_codes = torch.from_numpy(parent_codes)
        self.layout = layout
        self.window = window or int(max(layout.lengths.max(initial=1), 1))
        self.rng = np.random.default_rng(seed)
        self.orders = ColumnOrders(
            network.argn.shape, settings.enable_flexible_generation, torch.Generator().manual_seed(seed)
        )
        windowed = np.minimum(layout.lengths[layout.lengths > 0], self.window)
        self.rows_per_batch = settings.batch_size or auto_batch_size(int(windowed.sum()))
        self.sequences_per_batch = max(1, int(round(self.rows_per_batch / max(windowed.mean(), 1.0))))

    def steps_per_epoch(self, parents: np.ndarray) -> int:
        return math.ceil(len(parents) / self.sequences_per_batch)

    def _batch(
        self, parents: np.ndarray, random_window: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lengths = self.layout.lengths[parents]
        windows = np.minimum(lengths, self.window)
        if random_window:
            offsets = (self.rng.random(len(parents)) * (lengths - windows + 1)).astype(np.int64)
        else:
            offsets = np.zeros(len(parents), dtype=np.int64)
        steps = int(windows.max())
        grid = np.arange(steps)[None, :]
        valid = grid < windows[:, None]
        index = np.where(valid, self.layout.starts[parents, None] + offsets[:, None] + grid, 0)
        row_codes = self.codes[torch.from_numpy(index)]
        position = torch.from_numpy(offsets[:, None] + grid)
        remaining = torch.from_numpy(lengths[:, None] - 1) - position
        context = self.network.context(
            self.parent_codes[torch.from_numpy(parents)], row_codes, position, remaining
        )
        valid_t = torch.from_numpy(valid)
        return row_codes[valid_t], context[valid_t], valid_t

    def epoch(self, parents: np.ndarray) -> Iterator[tuple[torch.Tensor, int]]:
        order = parents[self.rng.permutation(len(parents))]
        for start in range(0, len(order), self.sequences_per_batch):
            codes, context, _ = self._batch(order[start : start + self.sequences_per_batch], True)
            yield self.orders.loss(self.network.argn, codes, context), len(codes)

    def rows_and_contexts(self, parents: np.ndarray) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every row of the given sequences with its context (whole windows from the start); the
        network's mode is the caller's."""
        with torch.no_grad():
            for start in range(0, len(parents), 256):
                codes, context, _ = self._batch(parents[start : start + 256], False)
                yield codes, context

    def validation(self, parents: np.ndarray) -> float:
        total, count = 0.0, 0
        for codes, context in self.rows_and_contexts(parents):
            total += float(self.orders.canonical_loss(self.network.argn, codes, context)) * len(codes)
            count += len(codes)
        return total / max(count, 1)


def seed_rows(parent_of_row: np.ndarray, seed_parent: np.ndarray) -> np.ndarray:
    """Where seed rows (ordered by parent) landed in rows ordered by parent, then position: each
    parent's seed rows open its sequence."""
    steps = pd.Series(seed_parent).groupby(seed_parent).cumcount().to_numpy()
    return np.searchsorted(parent_of_row, seed_parent) + steps


def _overlay_at(values: pd.Series, rows: np.ndarray, seeded: pd.Series) -> pd.Series:
    seeded = seeded.reset_index(drop=True)
    try:
        out = values.copy()
        out.iloc[rows] = seeded.astype(values.dtype).to_numpy()
        return out
    except (TypeError, ValueError):
        out = values.astype(object)
        out.iloc[rows] = seeded.astype(object).to_numpy()
        return out
