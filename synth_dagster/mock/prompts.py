"""The chat messages of one batch: the table's and columns' prompts, the parent row (context key),
candidate rows (non-context keys), rows to enrich, rows already made, and the answer's format."""

from __future__ import annotations

import json
from typing import Any

from synth_dagster.mock.plan import Batch
from synth_dagster.mock.spec import ColumnSpec, TableSpec

__all__ = ["SYSTEM_PROMPT", "batch_messages"]

SYSTEM_PROMPT = (
    "You generate realistic, coherent and diverse mock data for database tables. "
    'Answer with one JSON object only, of the form {"rows": [ ... ]}, one object per row, holding '
    "exactly the requested columns. No explanations, no code fences."
)
MAX_EXAMPLE_ROWS = 10


def _dump(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str, ensure_ascii=False)


def _column_line(name: str, column: ColumnSpec, note: str = "") -> str:
    kind = column.dtype
    if column.values is not None:
        kind += f", one of {json.dumps(column.values, default=str)}"
    if column.dtype == "date":
        kind += ", YYYY-MM-DD"
    elif column.dtype == "datetime":
        kind += ", YYYY-MM-DDTHH:MM:SS"
    text = f"- {name} ({kind})"
    if column.prompt:
        text += f": {column.prompt}"
    return text + note


def batch_messages(
    table: str,
    spec: TableSpec,
    batch: Batch,
    fill: dict[str, ColumnSpec],
    n_rows: tuple[int, int],
    previous: list[dict[str, Any]] | None = None,
) -> list[dict[str, str]]:
    """The messages asking for `n_rows` (min, max) rows of `table` holding the columns in `fill`."""
    parts = [f"Table `{table}`" + (f": {spec.prompt}" if spec.prompt else "")]
    notes = {
        c: f"; pick one of the `{t}` keys listed below" for c, t in _candidate_tables(spec, batch).items()
    }
    parts.append(
        "Columns to fill:\n" + "\n".join(_column_line(n, c, notes.get(n, "")) for n, c in fill.items())
    )
    if batch.parent is not None:
        fk = spec.context_key(table)
        assert fk is not None
        how = f" ({fk.prompt})" if fk.prompt else ""
        parts.append(f"The rows belong to this `{fk.referenced_table}` row{how}:\n{_dump(batch.parent)}")
    for column, rows in batch.candidates.items():
        fk = next(f for f in spec.foreign_keys if f.column == column)
        listing = "\n".join(_dump(r) for r in rows[:MAX_EXAMPLE_ROWS])
        parts.append(f"Candidate `{fk.referenced_table}` rows for {column}:\n{listing}")
    if batch.enriching and batch.slots:
        listing = "\n".join(_dump(s) for s in batch.slots)
        parts.append(
            f"Existing rows to complete, in this order; answer one row per existing row, same order, "
            f"with only the columns to fill:\n{listing}"
        )
    if previous:
        listing = "\n".join(_dump(r) for r in previous[-MAX_EXAMPLE_ROWS:])
        parts.append(f"Rows made before (stay consistent, do not repeat them):\n{listing}")
    lo, hi = n_rows
    count = f"exactly {lo} rows" if lo == hi else f"between {lo} and {hi} rows"
    keys = ", ".join(json.dumps(c) for c in fill)
    parts.append(f'Generate {count}. Answer {{"rows": [...]}}; each row has the keys {keys}.')
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n\n".join(parts)}]


def _candidate_tables(spec: TableSpec, batch: Batch) -> dict[str, str]:
    return {fk.column: fk.referenced_table for fk in spec.foreign_keys if fk.column in batch.candidates}
