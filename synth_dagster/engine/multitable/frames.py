"""A table's model frame: the columns its model learns besides its own.

No key columns; instead flags for nullable keys (`__has__<column>`), the keys into lookup tables as
text (`__key__<column>`), how many rows of each referencing table point at a row (`__seqlen__<child>`
for context children, `__degree__<child>.<column>` for other references) and the columns of the
parent rows that non-context keys reference (see `parents`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from synth_dagster.domain import GeneratorConfig, SourceTableConfig
from synth_dagster.engine.multitable.state import TableState
from synth_dagster.engine.parents import parent_column, parent_columns_of, referenced_values

SEQLEN_PREFIX = "__seqlen__"
HAS_PREFIX = "__has__"
LOOKUP_KEY_PREFIX = "__key__"
DEGREE_PREFIX = "__degree__"
CONSTANT_COLUMN = "__constant__"


def count_columns(
    config: GeneratorConfig, table: SourceTableConfig, frame: pd.DataFrame, frames: Mapping[str, pd.DataFrame]
) -> list[tuple[str, pd.Series]]:
    """Per row of a referenced table, how many rows of each referencing table point at it.

    Context children give the sequence lengths (`__seqlen__<child>`); non-context references
    give each parent's popularity (`__degree__<child>.<column>`): generated parents come with a
    popularity that fits their other columns, which the key matcher reads like any column.
    """
    if not table.primary_key:
        return []
    keys = frame[table.primary_key]
    counts = []
    for other in config.tables or []:
        for fk in other.foreign_keys or []:
            if fk.referenced_table != table.name:
                continue
            name = SEQLEN_PREFIX + other.name if fk.is_context else f"{DEGREE_PREFIX}{other.name}.{fk.column}"
            counts.append((name, reference_counts(keys, frames[other.name][fk.column])))
    return counts


def model_frame(
    table: SourceTableConfig,
    frame: pd.DataFrame,
    counts: list[tuple[str, pd.Series]],
    lookup_keys: Mapping[str, pd.Series] | None = None,
    parent_values: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The columns a table's model learns: no key columns; the referenced parents' columns
    (`parent_values`, see `_parent_values`), key flags, keys into lookup tables (`lookup_keys`,
    see `lookup_key_labels`) and reference counts added."""
    lookup_keys = lookup_keys or {}
    drop = [c for c in [table.primary_key, *(fk.column for fk in table.foreign_keys or [])] if c]
    model = frame.drop(columns=drop)
    for fk in table.foreign_keys or []:
        if fk.column in lookup_keys:
            # first: the rest of the row is drawn knowing which parent it belongs to
            model.insert(0, LOOKUP_KEY_PREFIX + fk.column, lookup_keys[fk.column].to_numpy())
        elif not fk.is_context and frame[fk.column].isna().any():
            model[HAS_PREFIX + fk.column] = frame[fk.column].notna().to_numpy()
    for name, values in counts:
        model[name] = values.to_numpy()
    for position, (name, values) in enumerate((parent_values or {}).items()):
        # first: what kind of parent a row has is drawn before the row itself
        model.insert(position, name, values)
    if model.shape[1] == 0:
        model[CONSTANT_COLUMN] = 0  # a table of keys only: the model has nothing else to learn
    return model


def protects_values(table: SourceTableConfig) -> bool:
    """Whether a table's model has value protection (on unless switched off)."""
    mc = table.tabular_model_configuration
    return mc is None or mc.value_protection is not False


def lookup_tables(config: GeneratorConfig) -> set[str]:
    return {t.name for t in config.tables or [] if t.is_lookup}


def lookup_key_labels(
    table: SourceTableConfig, frame: pd.DataFrame, trained: Mapping[str, TableState], lookups: set[str]
) -> dict[str, pd.Series]:
    """Per non-context key into a lookup table, the referenced key as text (None where empty).

    A lookup table's keys are real and public and come back as they are, so the child's model
    learns the key itself as a categorical column, jointly with the child's other columns: that
    keeps child-parent patterns as well as the child's own. Key values too rare for value
    protection come out as the rare token and are left to the key matcher.
    """
    out = {}
    for fk in table.foreign_keys or []:
        if fk.is_context or fk.referenced_table not in lookups:
            continue
        parent = trained[fk.referenced_table]
        position = parent.positions(frame[fk.column])
        labels = parent.keys.astype(str).to_numpy()
        found = position.notna().to_numpy()
        values = np.full(len(frame), None, dtype=object)
        values[found] = labels[position[found].astype(np.int64).to_numpy()]
        out[fk.column] = pd.Series(values, index=frame.index, dtype=object)
    return out


def conditioned_keys(config: GeneratorConfig, table: SourceTableConfig) -> list[str]:
    """Non-context keys whose child rows are drawn with their parent's columns: those into a
    synthesized table with a primary key (see `parents`)."""
    if table.is_lookup:
        return []
    out = []
    for fk in table.foreign_keys or []:
        parent = config.get_table(fk.referenced_table)
        if not fk.is_context and not parent.is_lookup and parent.primary_key:
            out.append(fk.column)
    return out


def parent_links(
    config: GeneratorConfig, table: SourceTableConfig, frames: Mapping[str, pd.DataFrame]
) -> dict[str, dict[str, str]]:
    """Per conditioned key, the child model's parent columns -> the parent's columns."""
    links = {}
    conditioned = set(conditioned_keys(config, table))
    for fk in table.foreign_keys or []:
        if fk.column not in conditioned:
            continue
        parent = config.get_table(fk.referenced_table)
        excluded = {parent.primary_key, *(k.column for k in parent.foreign_keys or [])}
        columns = parent_columns_of(frames[parent.name], excluded)
        links[fk.column] = {parent_column(fk.column, c): c for c in columns}
    return links


def parent_values(
    config: GeneratorConfig,
    table: SourceTableConfig,
    frame: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    trained: Mapping[str, TableState],
    links: Mapping[str, dict[str, str]],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """Per child row, the columns of the parent row each conditioned key references; and their
    value protection: the parent table's, counting parent rows (None: the parent has none), so
    that a value of one parent is as rare in the child as in the parent, however many children
    that parent has."""
    values: dict[str, np.ndarray] = {}
    subjects: dict[str, np.ndarray | None] = {}
    for fk in table.foreign_keys or []:
        if fk.column not in links:
            continue
        parent = trained[fk.referenced_table]
        rows = frames[fk.referenced_table].loc[parent.labels]
        position = parent.positions(frame[fk.column]).reset_index(drop=True)
        columns = referenced_values(fk.column, rows, position, list(links[fk.column].values()))
        protected = protects_values(config.get_table(fk.referenced_table))
        holders = position.fillna(-1).to_numpy().astype(np.int64) if protected else None
        values |= columns
        subjects |= {c: holders for c in columns}
    return values, subjects


def reference_counts(parent_keys: pd.Series, child_keys: pd.Series) -> pd.Series:
    counts = child_keys.value_counts()
    return parent_keys.map(counts).fillna(0).astype(np.int64)
