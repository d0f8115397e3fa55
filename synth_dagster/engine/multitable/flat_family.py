"""Flat tables (no context key): one row is one sample of the flat tabular model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from synth_dagster.engine.flat import FlatGenerator, GenerationRequest
from synth_dagster.engine.multitable.families import DrawInput, DrawnTable, FittedTable, TrainingInput
from synth_dagster.engine.multitable.frames import (
    HAS_PREFIX,
    count_columns,
    lookup_key_labels,
    lookup_tables,
    model_frame,
    parent_values,
)
from synth_dagster.engine.multitable.state import cards_of, subject_state
from synth_dagster.engine.parents import draw_with_parents
from synth_dagster.engine.sequence import SEQUENCE_META


class FlatFamily:
    kind = "flat"

    def fit(self, job: TrainingInput) -> FittedTable:
        frame, options = job.frame, job.options
        if options.max_sample_size and len(frame) > options.max_sample_size:
            # capped here rather than in the flat model, so that children follow their parents
            keep = np.sort(job.rng.choice(len(frame), options.max_sample_size, replace=False))
            frame = frame.iloc[keep]
        values, subjects = parent_values(
            job.config, job.table, frame, job.frames, job.trained, job.parent_links
        )
        learned = model_frame(
            job.table,
            frame,
            count_columns(job.config, job.table, frame, job.frames),
            lookup_key_labels(job.table, frame, job.trained, lookup_tables(job.config)),
            values,
        )
        flat = FlatGenerator.fit(
            learned,
            replace(options, max_sample_size=None),
            job.on_progress,
            job.should_stop,
            previous=self._previous(job.warm_start),
            column_subjects=subjects,
        )
        codes = flat.training_codes  # the frame's rows: it is capped above, not in the flat model
        state = subject_state(job.table, frame, codes, cards_of(flat), frame.index.isin(flat.holdout_index))
        assert flat.report is not None
        encodings = {p.name: p.encoding_type for p in flat.plans}
        return FittedTable(flat, state, flat.report, flat.holdout_index, len(frame), encodings)

    @staticmethod
    def _previous(directory: Path | None) -> FlatGenerator | None:
        """The earlier flat model of this table, when training continues from it."""
        if (
            directory is None
            or not (directory / "meta.json").exists()
            or (directory / SEQUENCE_META).exists()
        ):
            return None
        return FlatGenerator.load(directory)

    def save(self, model: FlatGenerator, directory: Path) -> None:
        model.save(directory)

    def load(self, directory: Path) -> FlatGenerator:
        return FlatGenerator.load(directory)

    def row_model(self, model: FlatGenerator) -> FlatGenerator:
        return model

    def sample(self, job: DrawInput) -> DrawnTable:
        model: FlatGenerator = job.model
        tc = job.configuration
        size = tc.effective_sample_size(
            is_subject=True, training_rows=job.training_rows, is_probe=job.is_probe
        )
        request = GenerationRequest(
            size=size,
            seed=job.seed,
            sampling_temperature=job.temperature,
            sampling_top_p=job.top_p,
            rebalancing=tc.rebalancing.model_dump() if tc.rebalancing else None,
            imputation=list(tc.imputation.columns) if tc.imputation else [],
            fairness=tc.fairness.model_dump() if tc.fairness else None,
            random_state=int(job.rng.integers(2**31)),
        )
        frame, codes = model.sample_with_codes(request, job.on_progress)
        seed_keys = job.seed_keys
        links = job.parents.links(job.name, frame, seed_keys)
        if links:
            carried = [
                c
                for c in frame.columns
                if c.startswith(HAS_PREFIX)
                or (job.seed is not None and c in job.seed.columns)
                or (request.rebalancing and c == request.rebalancing.get("column"))
            ]
            frame, codes, chosen = draw_with_parents(model, request, frame, codes, links, carried, job.rng)
            job.parents.keep(links, chosen, seed_keys)
        cards = cards_of(model)
        return DrawnTable(frame, codes, cards, codes, cards, seed_keys)
