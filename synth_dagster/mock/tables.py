"""Per table: plan its batches (fresh rows, children of each parent row, or existing rows to
enrich) and assemble the answers into a frame whose keys hold: integer keys 1, 2, 3 ..., string keys
unique, every foreign key a key of an existing parent row (or null for a self-reference's root)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pandas as pd

from synth_dagster.mock.plan import Batch, children_range
from synth_dagster.mock.rows import frame_dtypes
from synth_dagster.mock.spec import ColumnSpec, MockSpec, TableSpec

__all__ = ["assemble", "columns_to_fill", "plan_batches"]

MAX_CANDIDATES = 10


def columns_to_fill(
    name: str, spec: TableSpec, given: set[str], parents: Mapping[str, pd.DataFrame]
) -> dict[str, ColumnSpec]:
    """The columns the model writes: all but given ones, integer primary keys, the context key,
    self-references and references to a table without rows."""
    skip = set(given)
    if spec.primary_key and spec.columns[spec.primary_key].dtype == "integer":
        skip.add(spec.primary_key)
    for fk in spec.foreign_keys:
        if fk.referenced_table == name or fk is spec.context_key(name):
            skip.add(fk.column)
        elif len(parents.get(fk.referenced_table, ())) == 0:
            skip.add(fk.column)
    return {c: col for c, col in spec.columns.items() if c not in skip}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def plan_batches(
    name: str,
    spec: MockSpec,
    frames: Mapping[str, pd.DataFrame],
    existing: pd.DataFrame | None,
    size: int | None,
    batch_size: int,
    rng: random.Random,
) -> list[Batch]:
    table = spec.tables[name]
    fk = table.context_key(name)
    if existing is not None:
        rows = _records(existing)
        groups = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
        batches = [Batch(name, i, slots=g) for i, g in enumerate(groups)]
    elif fk is None:
        n = size or 0
        batches = [
            Batch(name, i, slots=[{} for _ in range(min(batch_size, n - s))])
            for i, s in enumerate(range(0, n, batch_size))
        ]
    else:
        parents = _records(frames[fk.referenced_table])
        span = children_range(fk.prompt)
        batches = [Batch(name, i, slots=None, parent=p, children=span) for i, p in enumerate(parents)]
    for batch in batches:
        _add_candidates(name, spec, frames, batch, rng)
    return batches


def _add_candidates(
    name: str, spec: MockSpec, frames: Mapping[str, pd.DataFrame], batch: Batch, rng: random.Random
) -> None:
    table = spec.tables[name]
    for fk in table.foreign_keys:
        if fk.referenced_table == name or fk is table.context_key(name):
            continue
        parent = frames.get(fk.referenced_table)
        if parent is None or len(parent) == 0:
            continue
        pk = spec.tables[fk.referenced_table].primary_key
        picked = parent.iloc[sorted(rng.sample(range(len(parent)), min(MAX_CANDIDATES, len(parent))))]
        batch.candidates[fk.column] = _records(picked)
        batch.candidate_keys[fk.column] = [_plain(v) for v in picked[pk]]


def assemble(
    name: str,
    spec: MockSpec,
    batches: list[Batch],
    answers: list[list[dict[str, Any]]],
    frames: Mapping[str, pd.DataFrame],
    existing: pd.DataFrame | None,
    rng: random.Random,
) -> pd.DataFrame:
    """The table's frame from its batches' answers, keys completed and dtypes set."""
    table = spec.tables[name]
    fk = table.context_key(name)
    rows: list[dict[str, Any]] = []
    for batch, answer in zip(batches, answers, strict=True):
        for row in answer:
            if batch.parent is not None and fk is not None:
                row = {**row, fk.column: batch.parent[spec.tables[fk.referenced_table].primary_key]}
            rows.append(row)
    new = pd.DataFrame(rows, index=range(len(rows)))
    frame = existing.reset_index(drop=True).copy() if existing is not None else pd.DataFrame(index=new.index)
    for column in new.columns:
        frame[column] = new[column].to_numpy()
    given = set(existing.columns) if existing is not None else set()
    for column in table.columns:
        if column not in frame.columns and column != table.primary_key:
            if not any(f.column == column for f in table.foreign_keys):
                frame[column] = None  # no rows at all
    _complete_keys(name, spec, frame, given, frames, rng)
    generated = {c for c in table.columns if c not in given}
    order = [
        *(existing.columns if existing is not None else []),
        *(c for c in table.columns if c not in given),
    ]
    return frame_dtypes(frame[order], table.columns, generated)


def _complete_keys(
    name: str,
    spec: MockSpec,
    frame: pd.DataFrame,
    given: set[str],
    frames: Mapping[str, pd.DataFrame],
    rng: random.Random,
) -> None:
    table = spec.tables[name]
    pk = table.primary_key
    if pk and pk not in given:
        if table.columns[pk].dtype == "integer":
            frame[pk] = range(1, len(frame) + 1)
        else:
            frame[pk] = _unique(list(frame[pk]))
    for fk in table.foreign_keys:
        if fk.column in given:
            continue
        if fk.referenced_table == name:
            frame[fk.column] = _self_reference(list(frame[pk]), children_range(fk.prompt)[1], rng)
        elif fk.column not in frame.columns:  # the parent had no rows, or an existing frame lacks it
            parent = frames.get(fk.referenced_table)
            keys = [] if parent is None else list(parent[spec.tables[fk.referenced_table].primary_key])
            frame[fk.column] = [rng.choice(keys) if keys else None for _ in range(len(frame))]


def _unique(values: list[Any]) -> list[str]:
    """String keys made unique: a repeated key gets a suffix -2, -3 ..."""
    seen: set[str] = set()
    out = []
    for value in values:
        key, n = str(value), 1
        while key in seen:
            n += 1
            key = f"{value}-{n}"
        seen.add(key)
        out.append(key)
    return out


def _self_reference(keys: list[Any], max_children: int, rng: random.Random) -> list[Any]:
    """A tree: the first row is the root (null), every other row points to an earlier row that has
    fewer than `max_children` children (null when none has room)."""
    out: list[Any] = []
    counts: dict[int, int] = {}
    limit = max(max_children, 1)
    for i in range(len(keys)):
        room = [j for j in range(i) if counts.get(j, 0) < limit]
        if not room:
            out.append(None)
            continue
        j = rng.choice(room)
        counts[j] = counts.get(j, 0) + 1
        out.append(keys[j])
    return out
