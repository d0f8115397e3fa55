"""Sequence tables: the rows of a child table that share one parent row, learned and drawn together.

A sequence's rows are drawn one after another by the table's TabularARGN. Its context vector
carries, for every row, the parent row (and the parent's ancestors), the rows drawn before it
(a GRU over the sequence) and its position: how far into the sequence it is and how many rows
remain. The number of rows per parent is not learned here: it is a column of the parent's model
(see `engine/multitable/`), so lengths follow the parent's other columns, zero included.

`max_sequence_window` caps the rows a training step sees: longer sequences are trained on a
random window each epoch. TABULAR_DATETIME_RELATIVE columns are modelled as the first value of a
sequence plus the gaps between consecutive rows, so that dates stay ordered; so are numeric
columns that never fall within a training sequence (`rising_columns`: a season's year, a running
total), so that generated sequences never go back either.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.encoding.private import value_protection_spent
from synth_dagster.engine.encoding.relative import (
    GAP_SUFFIX,
    LAST_SUFFIX,
    as_datetime,
    as_source_dtype,
    relative_forward,
    relative_inverse,
)
from synth_dagster.engine.flat import (
    FlatGenerator,
    FlatOptions,
    allowed_codes,
    analyze_frame,
    encode_frame,
)
from synth_dagster.engine.privacy.flat import new_ledger
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress
from synth_dagster.engine.sampling import SamplingControls
from synth_dagster.engine.sequence.batches import SequenceBatches, SequenceLayout
from synth_dagster.engine.sequence.determined import DeterminedColumn, forced_codes, step_masks
from synth_dagster.engine.sequence.drawing import SequenceDrawing, SequenceSeeds, overlay_at, seed_rows
from synth_dagster.engine.sequence.fitting import (
    relative_columns,
    rising_bounds,
    sequence_network,
    sequence_settings,
    train_sequences,
)
from synth_dagster.engine.sequence.network import (
    SequenceContext,
    ordinal_codes,
)
from synth_dagster.engine.sequence.private import train_sequences_private
from synth_dagster.engine.training import (
    start_at_marginals,
)

SEQUENCE_FILE = "sequence.pt"
SEQUENCE_META = "sequence.json"


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
        # parent columns that the first or last row follows (see `determined`), set by its family
        self.determined: list[DeterminedColumn] = []

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
        relative, rising, row_options = relative_columns(frame, parent_of_row, options)
        on_progress(EngineProgress("ANALYZE", 0, 1, "analyzing columns"))
        source = relative_forward(frame, parent_of_row, relative, rising)
        holders = parent_of_row if subjects is None else subjects
        transforms, plans, model_frame = analyze_frame(
            source, row_options, subjects=holders, column_subjects=column_subjects, extra=tuple(rising)
        )
        on_progress(EngineProgress("ENCODE", 0, 1, "encoding"))
        codes = encode_frame(model_frame, plans)
        network, shape, seed = sequence_network(plans, parent_cards, options)
        layout = SequenceLayout.of(parent_of_row, len(parent_codes))
        is_validation = validation_parents[parent_of_row] if len(frame) else np.zeros(0, dtype=bool)
        dp = options.differential_privacy
        if dp is None:  # the marginals are read without noise: not under differential privacy
            start_at_marginals(network.argn, codes[~is_validation] if (~is_validation).any() else codes)
        batches = SequenceBatches(
            network, codes, parent_codes, layout, window, sequence_settings(options, seed), seed
        )
        if dp is not None:
            ledger = new_ledger(dp, value_protection_spent(dp), None)
            report = train_sequences_private(
                batches, validation_parents, seed, dp, ledger, on_progress, should_stop
            )
        else:
            report = train_sequences(batches, validation_parents, seed, on_progress, should_stop)
        report.seconds = time.monotonic() - started
        rows = FlatGenerator(
            plans,
            network.argn,
            allowed_codes(codes, shape),
            transforms,
            row_options,
            list(source.columns),
            report,
            frame.index.to_numpy()[is_validation],
            len(frame),
        )
        nulls = {c: bool(frame[c].isna().any()) for c in relative}
        bounds = rising_bounds(frame, rising, options, holders, list(model_frame.columns))
        fitted = cls(rows, network.context, parent_cards, relative, window, nulls, rising, bounds)
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
        parents: pd.DataFrame | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """(rows, parent of each row, codes): sequences of `lengths[i]` rows under parent row i.

        `seed` rows (columns of this table, without keys) start the sequence of parent
        `seed_parent[k]`, in their order; a sequence is at least as long as its seed. `parents`:
        the generated parent rows (row i: parent i), whose `determined` columns the sequences follow.
        """
        rng = np.random.default_rng(random_state)
        generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
        lengths = np.asarray(lengths, dtype=np.int64).copy()
        seeds = self._seed_codes(seed, seed_parent)
        if seeds is not None:
            lengths = np.maximum(lengths, np.bincount(seeds.parent, minlength=len(lengths)))
        controls = SamplingControls(temperature, top_p, [a.copy() for a in self.rows.allowed], {})
        drawing = SequenceDrawing.start(self.context, parent_codes, len(self.rows.model.shape.cardinalities))
        drawing.rising_last = {c: np.full(len(lengths), np.nan) for c in self.rising}
        drawing.rising = {c: [] for c in self.rising}
        drawing.forced = forced_codes(self.determined, self.rows, parents)
        total, done = int(lengths.sum()), 0
        for t in range(int(lengths.max()) if len(lengths) else 0):
            active = np.flatnonzero(lengths > t)
            self._draw_step(drawing, t, active, lengths, seeds, controls, generator, rng)
            done += len(active)
            on_progress(EngineProgress("GENERATE_DATA", done, total, f"{done} of {total} rows"))
        if not drawing.codes:
            return self._no_rows(rng)
        return self._assemble(drawing, seed, seeds, rng)

    def _draw_step(
        self,
        drawing: SequenceDrawing,
        t: int,
        active: np.ndarray,
        lengths: np.ndarray,
        seeds: SequenceSeeds | None,
        controls: SamplingControls,
        generator: torch.Generator,
        rng: np.random.Generator,
    ) -> None:
        """Draw row `t` of every `active` sequence, seeing the rows drawn before it."""
        active_t = torch.from_numpy(active)
        ctx, new_state = self.context.step(
            drawing.parent[active_t],
            drawing.state[active_t],
            drawing.previous[active_t] if t > 0 else None,
            torch.full((len(active),), t, dtype=torch.long),
            torch.from_numpy(lengths[active] - 1 - t),
        )
        fixed, given, at_step, where = self._step_fixed(t, active, seeds, drawing.rising_last)
        controls.row_allowed = self._relative_masks(t, len(active))
        controls.row_allowed |= step_masks(drawing.forced, t, active, lengths, self.rows.allowed)
        codes = self.rows.draw(fixed, given, controls, generator, context=ctx)
        if self.rising:
            exact = seeds.exact if seeds is not None else {}
            seeded = {c: (where, v[at_step]) for c, v in exact.items()}
            self._rise(codes, active, drawing.rising_last, drawing.rising, seeded, rng)
        drawing.state[active_t] = new_state
        drawing.previous[active_t] = torch.from_numpy(codes)
        drawing.add(codes, active, t)

    def _step_fixed(
        self,
        t: int,
        active: np.ndarray,
        seeds: SequenceSeeds | None,
        rising_last: Mapping[str, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Codes fixed at step `t` (seeded rows; the previous value of rising columns), which
        columns are given, and the seed rows of this step with their place among the active rows."""
        fixed = np.full((len(active), len(self.rows.model.shape.cardinalities)), -1, dtype=np.int64)
        given = np.zeros((len(active), len(self.rows.plans)), dtype=bool)
        at_step = where = np.zeros(0, dtype=np.int64)
        if seeds is not None:
            at_step = np.flatnonzero(seeds.step == t)
            where = np.searchsorted(active, seeds.parent[at_step])
            fixed[where] = seeds.fixed[at_step]
            given[where] = seeds.given[at_step]
        if self.rising:
            # the value of the row before is known: the row is drawn seeing it
            last = pd.DataFrame({c + LAST_SUFFIX: v[active] for c, v in rising_last.items()})
            last_fixed, last_given = self.rows._fixed_codes(last, set())
            take = (fixed < 0) & (last_fixed >= 0)
            fixed[take] = last_fixed[take]
            given |= last_given
        return fixed, given, at_step, where

    def _assemble(
        self,
        drawing: SequenceDrawing,
        seed: pd.DataFrame | None,
        seeds: SequenceSeeds | None,
        rng: np.random.Generator,
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The drawn rows ordered by parent, then position, decoded, seeded values laid over them."""
        all_codes, parent_of_row, order = drawing.ordered()
        out = self.rows.decode_rows(all_codes, rng, pd.DataFrame(index=pd.RangeIndex(len(all_codes))))
        # rising columns: the values accumulated while drawing (the rows were drawn seeing them)
        out = self._without_rising_helpers(
            out, {c: np.concatenate(parts)[order] for c, parts in drawing.rising.items()}
        )
        fixed: dict[str, np.ndarray] = {}
        if seeds is not None:
            assert seed is not None
            rows_of_seed = seed_rows(parent_of_row, seeds.parent)
            for column in self.relative:
                if column in seed.columns and column not in self.rising:
                    exact = np.full(len(out), np.datetime64("NaT"), dtype="datetime64[ns]")
                    exact[rows_of_seed] = as_datetime(seed[column], column).to_numpy(dtype="datetime64[ns]")
                    fixed[column] = exact
        out = relative_inverse(out, parent_of_row, self._datetimes, fixed)
        if seeds is not None:
            assert seed is not None
            for column in seed.columns:
                out[column] = overlay_at(out[column], rows_of_seed, seed[column])
        return out, parent_of_row, all_codes

    def _no_rows(self, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """An empty result with the table's columns and dtypes."""
        n_sub = len(self.rows.model.shape.cardinalities)
        empty = self.rows._decode(np.zeros((0, n_sub), dtype=np.int64), rng)
        empty = self._without_rising_helpers(self.rows.transforms.inverse(empty, rng), {})
        empty = relative_inverse(empty, np.zeros(0, np.int64), self._datetimes)
        return empty, np.zeros(0, dtype=np.int64), np.zeros((0, n_sub), dtype=np.int64)

    @property
    def _datetimes(self) -> list[str]:
        """The TABULAR_DATETIME_RELATIVE columns (the other relative columns are rising numbers)."""
        return [c for c in self.relative if c not in self.rising]

    def _without_rising_helpers(self, frame: pd.DataFrame, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Rising columns as one column each, with `values` (empty where not given), source dtypes."""
        frame = frame.drop(columns=[c + s for c in self.rising for s in (GAP_SUFFIX, LAST_SUFFIX)])
        for column, dtype in self.rising.items():
            drawn = values.get(column, np.full(len(frame), np.nan))
            frame[column] = as_source_dtype(pd.Series(drawn, index=frame.index), dtype)
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

    def _seed_codes(self, seed: pd.DataFrame | None, seed_parent: np.ndarray | None) -> SequenceSeeds | None:
        if seed is None or not len(seed):
            return None
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
        return SequenceSeeds(np.asarray(seed_parent), fixed, given, seed_step, self._seed_values(seed))

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
            "determined": [d.to_dict() for d in self.determined],
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
        loaded = cls(
            rows,
            context,
            tuple(meta["parent_cards"]),
            meta["relative"],
            meta["window"],
            meta.get("relative_nulls"),
            meta.get("rising"),
            meta.get("rising_bounds"),
        )
        loaded.determined = [DeterminedColumn.from_dict(d) for d in meta.get("determined", [])]
        return loaded
