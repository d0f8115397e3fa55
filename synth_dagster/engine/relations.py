"""Checks of a generator's relations against its data, orphan handling and the table order.

The config layer already rejects what it can see without data (unknown tables, a missing primary
key, two context keys in a table, context cycles). Here come the checks that need the data: key
columns present, primary keys unique, key dtypes that match, orphan keys (reported with their
count, then dropped or kept only when the foreign key says so), and self-references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from synth_dagster.domain import GeneratorConfig, SourceTableConfig
from synth_dagster.engine.analysis import source_kind
from synth_dagster.engine.errors import EngineInputError


@dataclass
class Relations:
    """The tables in generation order (parents first) and their links."""

    order: list[str]
    context_parent: dict[str, str]  # child -> parent, for context keys
    context_children: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what orphan handling did, for the logs


def key_kind(values: pd.Series) -> str:
    """int, string, datetime, ...: key columns of one relation must agree on it.

    As a column's source kind, except that keys compare by value: floats that are whole numbers
    (an int column with empty values) and objects holding numbers are int keys.
    """
    kind = source_kind(values)
    present = values.dropna()
    if kind == "float" and (present % 1 == 0).all():
        return "int"
    if isinstance(values.dtype, pd.CategoricalDtype) or kind == "string":
        numeric = len(present) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in present.head(100)
        )
        return "int" if numeric else "string"
    return kind


def prepare_relations(
    config: GeneratorConfig, frames: Mapping[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], Relations]:
    """Frames with orphan rows handled, and the relations in generation order."""
    tables = {t.name: t for t in config.tables or []}
    cleaned = dict(frames)
    for table in tables.values():
        _check_keys_present(table, cleaned[table.name], tables, cleaned)
    order = _order(tables)
    notes: list[str] = []
    # parents first, so that rows a parent drops make its children's rows orphans in turn
    for name in order:
        table = tables[name]
        frame = cleaned[name]
        for fk in table.foreign_keys or []:
            parent = tables[fk.referenced_table]
            assert parent.primary_key is not None
            parent_keys = cleaned[parent.name][parent.primary_key]
            values = frame[fk.column]
            missing = values.isna()
            orphan = ~missing & ~values.isin(parent_keys)
            if fk.is_context:
                orphan |= missing  # a sequence row needs its parent
            count = int(orphan.sum())
            if not count:
                continue
            examples = ", ".join(repr(v) for v in values[orphan].drop_duplicates().head(5).tolist())
            where = f"table {name!r}: foreign key {fk.column!r} -> {parent.name}.{parent.primary_key}"
            if fk.orphan_handling == "FAIL":
                raise EngineInputError(
                    f"{where}: {count} of {len(frame)} rows have a key that matches no row of "
                    f"{parent.name!r} (e.g. {examples}); fix the data, or set orphan_handling='DROP' on this "
                    "foreign key to leave those rows out"
                    + ("" if fk.is_context else ", or 'KEEP' to keep them with an empty key")
                )
            if fk.orphan_handling == "DROP":
                frame = frame[~orphan]
                notes.append(
                    f"{where}: dropped {count} rows whose key matches no parent row (e.g. {examples})"
                )
            else:
                frame = frame.copy()
                frame[fk.column] = frame[fk.column].where(~orphan)
                notes.append(f"{where}: kept {count} rows whose key matches no parent row, with an empty key")
        cleaned[name] = frame
        if len(frame) == 0:
            raise EngineInputError(
                f"table {name!r} has no rows left after dropping rows with orphan keys; check its foreign keys"
            )
    context_parent = {
        t.name: fk.referenced_table for t in tables.values() if (fk := t.context_foreign_key) is not None
    }
    children: dict[str, list[str]] = {}
    for child in order:
        if child in context_parent:
            children.setdefault(context_parent[child], []).append(child)
    return cleaned, Relations(order, context_parent, children, notes)


def check_primary_key(table: SourceTableConfig, frame: pd.DataFrame) -> None:
    """A table's primary key is a column, never empty, and unique."""
    name, key = table.name, table.primary_key
    if not key:
        return
    if key not in frame.columns:
        raise EngineInputError(f"table {name!r}: primary key {key!r} is not a column")
    pk = frame[key]
    if pk.isna().any():
        raise EngineInputError(
            f"table {name!r}: primary key {key!r} is empty in {int(pk.isna().sum())} rows; every row needs a key"
        )
    duplicated = int(pk.duplicated().sum())
    if duplicated:
        examples = ", ".join(repr(v) for v in pk[pk.duplicated()].drop_duplicates().head(5).tolist())
        raise EngineInputError(
            f"table {name!r}: primary key {key!r} has {duplicated} duplicated values (e.g. {examples}); a "
            "primary key must be unique: fix the data, or leave primary_key unset if the column is no key"
        )


def _check_keys_present(
    table: SourceTableConfig,
    frame: pd.DataFrame,
    tables: Mapping[str, SourceTableConfig],
    frames: Mapping[str, pd.DataFrame],
) -> None:
    name = table.name
    check_primary_key(table, frame)
    for fk in table.foreign_keys or []:
        if fk.referenced_table == name:
            raise EngineInputError(
                f"table {name!r}: foreign key {fk.column!r} references its own table; self-references are not "
                "supported: remove this foreign key (the column is then learned as an ordinary column) or "
                "move the referenced rows into a table of their own"
            )
        if fk.column not in frame.columns:
            raise EngineInputError(
                f"table {name!r}: foreign key column {fk.column!r} is not a column; its columns are "
                f"{list(frame.columns)}"
            )
        parent = tables[fk.referenced_table]
        assert parent.primary_key is not None
        parent_frame = frames[parent.name]
        if parent.primary_key not in parent_frame.columns:
            continue  # reported when the parent is checked
        child_kind = key_kind(frame[fk.column])
        parent_kind = key_kind(parent_frame[parent.primary_key])
        if frame[fk.column].isna().all():
            continue
        if child_kind != parent_kind:
            raise EngineInputError(
                f"table {name!r}: foreign key {fk.column!r} holds {child_kind} values "
                f"({frame[fk.column].dtype}) but the primary key {parent.name}.{parent.primary_key} it "
                f"references holds {parent_kind} values ({parent_frame[parent.primary_key].dtype}); cast one "
                "of them so that both have the same type"
            )


def _order(tables: Mapping[str, SourceTableConfig]) -> list[str]:
    """Tables with every referenced table before them (config order otherwise)."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = path[path.index(name) :] + [name]
            raise EngineInputError(
                f"foreign keys form a cycle: {' -> '.join(cycle)} (each arrow points from a table to a table it "
                "references); the engine generates referenced tables first, so remove one of these foreign keys"
            )
        state[name] = "active"
        for fk in tables[name].foreign_keys or []:
            visit(fk.referenced_table, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in tables:
        visit(name, [])
    return order
