"""What later tables need of a trained or generated table: keys, codes and context."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth_dagster.domain import SourceTableConfig
from synth_dagster.engine.flat import FlatGenerator


@dataclass
class TableState:
    """One table's rows as its children and referencing tables see them (training or generation)."""

    keys: pd.Series  # primary key per kept row (or a range when the table has none)
    codes: np.ndarray  # the table's own codes per row
    cards: tuple[int, ...]
    ancestry: np.ndarray  # own codes plus the ancestors' codes: the context of child tables
    ancestry_cards: tuple[int, ...]
    validation: np.ndarray  # bool per row: held out for validation
    labels: np.ndarray  # index labels of the kept rows in the frame given to training
    subjects: np.ndarray | None = None  # per row, its root subject (a subject table's row: itself)

    def subject_of(self, rows: np.ndarray) -> np.ndarray:
        """The root subject of the given rows: value protection counts subjects, not rows."""
        return rows if self.subjects is None else self.subjects[rows]

    def positions(self, keys: pd.Series, *, as_text: bool = False) -> pd.Series:
        """The row of each key value (NaN for values that are no key of this table); `as_text`:
        the values are keys written as text (as a key into a lookup table is modelled)."""
        own = self.keys.astype(str) if as_text else self.keys
        return keys.map(pd.Series(np.arange(len(self.keys)), index=pd.Index(own.to_numpy())))


def cards_of(generator: FlatGenerator) -> tuple[int, ...]:
    return tuple(generator.model.shape.cardinalities)


def subject_state(
    table: SourceTableConfig,
    frame: pd.DataFrame,
    codes: np.ndarray,
    cards: tuple[int, ...],
    validation: np.ndarray,
) -> TableState:
    """A table without a context: its own codes are all its children's context."""
    keys = (
        frame[table.primary_key] if table.primary_key else pd.Series(np.arange(len(frame)), index=frame.index)
    )
    return TableState(keys, codes, cards, codes, cards, validation, frame.index.to_numpy())
