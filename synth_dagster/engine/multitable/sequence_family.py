"""Sequence tables (under a context key): the rows of one parent row are one sequence, drawn with
the parent's row and its ancestors' rows as context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synth_dagster.domain import ModelConfiguration
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat import FlatGenerator
from synth_dagster.engine.multitable.families import DrawInput, DrawnTable, FittedTable, TrainingInput
from synth_dagster.engine.multitable.frames import (
    SEQLEN_PREFIX,
    count_columns,
    lookup_key_labels,
    lookup_tables,
    model_frame,
    parent_values,
)
from synth_dagster.engine.multitable.state import TableState, cards_of
from synth_dagster.engine.parents import assign_parents
from synth_dagster.engine.sequence import GAP_SUFFIX, LAST_SUFFIX, SequenceGenerator, seed_rows
from synth_dagster.engine.sequence.determined import DeterminedColumn, find_determined, forceable_columns


class SequenceFamily:
    kind = "sequence"

    def fit(self, job: TrainingInput) -> FittedTable:
        table = job.table
        context_fk = table.context_foreign_key
        assert context_fk is not None
        parent = job.trained[context_fk.referenced_table]
        parent_of_row = parent.positions(job.frame[context_fk.column])
        frame = job.frame[parent_of_row.notna().to_numpy()]  # children of parents left out by a sample cap
        parent_of_row = parent_of_row.dropna().astype(np.int64)
        order = np.argsort(parent_of_row.to_numpy(), kind="stable")
        frame, parent_of = frame.iloc[order], parent_of_row.to_numpy()[order]
        values, column_subjects = parent_values(
            job.config, table, frame, job.frames, job.trained, job.parent_links
        )
        learned = model_frame(
            table,
            frame,
            count_columns(job.config, table, frame, job.frames),
            lookup_key_labels(table, frame, job.trained, lookup_tables(job.config)),
            values,
        )
        mc = table.tabular_model_configuration or ModelConfiguration()
        subjects = parent.subject_of(parent_of)
        sequence = SequenceGenerator.fit(
            learned,
            parent_of,
            parent.ancestry,
            parent.ancestry_cards,
            parent.validation,
            job.options,
            window=mc.max_sequence_window,
            on_progress=job.on_progress,
            should_stop=job.should_stop,
            subjects=subjects,
            column_subjects=column_subjects,
        )
        sequence.determined = self._determined(job, parent, frame, parent_of, sequence)
        codes = sequence.training_codes
        validation = parent.validation[parent_of]
        cards = cards_of(sequence.rows)
        keys = (
            frame[table.primary_key]
            if table.primary_key
            else pd.Series(np.arange(len(frame)), index=frame.index)
        )
        state = TableState(
            keys=keys,
            codes=codes,
            cards=cards,
            ancestry=np.concatenate([codes, parent.ancestry[parent_of]], axis=1),
            ancestry_cards=cards + parent.ancestry_cards,
            validation=validation,
            labels=frame.index.to_numpy(),
            subjects=subjects,
        )
        assert sequence.report is not None
        holdout = frame.index.to_numpy()[validation]
        return FittedTable(sequence, state, sequence.report, holdout, len(frame), self._encodings(sequence))

    @staticmethod
    def _determined(
        job: TrainingInput,
        parent: TableState,
        frame: pd.DataFrame,
        parent_of: np.ndarray,
        sequence: SequenceGenerator,
    ) -> list[DeterminedColumn]:
        """The parent's columns that the first or last row of their sequence follows in training.
        None under differential privacy: the rule would be read off the rows without noise."""
        if job.options.differential_privacy is not None:
            return []
        table = job.table
        assert table.context_foreign_key is not None
        referenced = job.config.get_table(table.context_foreign_key.referenced_table)
        source = job.frames[referenced.name]
        keys = {referenced.primary_key, *(fk.column for fk in referenced.foreign_keys or [])}
        columns = [c for c in source.columns if c not in keys and not str(c).startswith("__")]
        own_keys = {table.primary_key, *(fk.column for fk in table.foreign_keys or [])}
        own = forceable_columns(sequence.rows, [c for c in frame.columns if c not in own_keys])
        rows = source.loc[parent.labels, columns].reset_index(drop=True)
        return find_determined(rows, frame.reset_index(drop=True), parent_of, own)

    @staticmethod
    def _encodings(sequence: SequenceGenerator) -> dict[str, str]:
        helpers = {c + s for c in sequence.relative for s in (GAP_SUFFIX, LAST_SUFFIX)}
        encodings = {p.name: p.encoding_type for p in sequence.rows.plans if p.name not in helpers}
        for column in sequence.relative:
            if column not in sequence.rising:  # rising numbers keep their numeric encoding's name
                encodings[column] = "TABULAR_DATETIME_RELATIVE"
        return encodings

    def save(self, model: SequenceGenerator, directory: Path) -> None:
        model.save(directory)

    def load(self, directory: Path) -> SequenceGenerator:
        return SequenceGenerator.load(directory)

    def row_model(self, model: SequenceGenerator) -> FlatGenerator:
        return model.rows

    def sample(self, job: DrawInput) -> DrawnTable:
        tc, name = job.configuration, job.name
        for feature in ("rebalancing", "imputation", "fairness"):
            if getattr(tc, feature) is not None:
                raise EngineInputError(
                    f"table {name!r}: {feature} applies to subject tables only, and {name!r} is a sequence "
                    "table (it has a context foreign key); configure it on the subject table"
                )
        if tc.sample_size is not None:
            raise EngineInputError(
                f"table {name!r}: sample_size applies to subject tables only; the size of a sequence table "
                "follows its parent table"
            )
        context = job.roles.context
        assert context is not None
        parent_frame, parent = job.out[context.parent], job.states[context.parent]
        lengths = parent_frame[SEQLEN_PREFIX + name].fillna(0).to_numpy().astype(np.int64).clip(min=0)
        seed, seed_keys, seed_parent = self._seed_by_parent(job, parent)
        model: SequenceGenerator = job.model
        frame, parent_of, codes = model.sample(
            parent.ancestry,
            lengths,
            seed=seed,
            seed_parent=seed_parent,
            temperature=job.temperature,
            top_p=job.top_p,
            random_state=int(job.rng.integers(2**31)),
            on_progress=job.on_progress,
            parents=parent_frame.reset_index(drop=True),
        )
        frame[context.column] = parent.keys.to_numpy()[parent_of]
        if seed is not None and seed_parent is not None:
            seeded_rows = seed_rows(parent_of, seed_parent)
            seed_keys = {
                k: _spread(v, seeded_rows, len(frame)) for k, v in seed_keys.items() if k != context.column
            }
        links = job.parents.links(name, frame, seed_keys)
        if links:
            # no second draw for sequences: a row keeps what it drew, matched to its parent
            job.parents.keep(links, assign_parents(frame, links, job.rng), seed_keys)
        cards = cards_of(model.rows)
        ancestry = np.concatenate([codes, parent.ancestry[parent_of]], axis=1)
        return DrawnTable(frame, codes, cards, ancestry, cards + parent.ancestry_cards, seed_keys)

    @staticmethod
    def _seed_by_parent(
        job: DrawInput, parent: TableState
    ) -> tuple[pd.DataFrame | None, dict[str, pd.Series], np.ndarray | None]:
        """The seed rows ordered by their parent row, and each one's parent (an index into the
        parent's generated rows)."""
        seed, seed_keys = job.seed, job.seed_keys
        if seed is None:
            return None, seed_keys, None
        context = job.roles.context
        assert context is not None
        fk = context.column
        if fk not in seed_keys:
            raise EngineInputError(
                f"table {job.name!r}: seed rows need the context key column {fk!r} to say which "
                f"{context.parent!r} row they belong to"
            )
        mapped = parent.positions(seed_keys[fk])
        if mapped.isna().any():
            missing = seed_keys[fk][mapped.isna()].drop_duplicates().head(5).tolist()
            raise EngineInputError(
                f"table {job.name!r}: seed rows reference {context.parent!r} keys {missing} that are not in "
                f"the seed of {context.parent!r}; seed the parent rows too, with the same key values"
            )
        seed_parent = mapped.to_numpy().astype(np.int64)
        order = np.argsort(seed_parent, kind="stable")
        seed, seed_parent = seed.iloc[order].reset_index(drop=True), seed_parent[order]
        seed_keys = {k: v.iloc[order].reset_index(drop=True) for k, v in seed_keys.items()}
        return seed, seed_keys, seed_parent


def _spread(values: pd.Series, rows: np.ndarray, n: int) -> pd.Series:
    """Seed key values placed at their generated rows (empty elsewhere)."""
    out = pd.Series([None] * n, dtype=object)
    out.iloc[rows] = values.to_numpy()
    return out
