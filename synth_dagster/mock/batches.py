"""One batch: ask the backend, parse the answer, check every row, and ask again for the rows that
failed, until all slots hold a valid row or the retries are spent (then MockGenerationError)."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synth_dagster.mock.backends import Backend, Request
from synth_dagster.mock.errors import MockCancelledError, MockGenerationError
from synth_dagster.mock.parsing import ParseError, parse_rows
from synth_dagster.mock.plan import Batch
from synth_dagster.mock.prompts import batch_messages
from synth_dagster.mock.rows import check_row
from synth_dagster.mock.schema import batch_schema
from synth_dagster.mock.spec import ColumnSpec, TableSpec

__all__ = ["BatchJob", "RowStats", "run_batch"]


@dataclass
class RowStats:
    """How the rows came about: valid as first answered, repaired (coerced), or regenerated."""

    rows: int = 0
    first_try: int = 0
    repaired: int = 0
    regenerated: int = 0
    invalid: int = 0
    parse_failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def merge(self, other: RowStats) -> None:
        with self._lock:
            for name in ("rows", "first_try", "repaired", "regenerated", "invalid", "parse_failures"):
                setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class BatchJob:
    table: str
    spec: TableSpec
    batch: Batch
    fill: dict[str, ColumnSpec]  # the columns the model writes
    backend: Backend
    max_retries: int
    should_stop: Callable[[], bool]
    random_state: int | None = None
    previous: list[dict[str, Any]] | None = None

    @property
    def enums(self) -> dict[str, list[Any]]:
        """Candidate keys of the non-context foreign keys the model writes."""
        return {c: keys for c, keys in self.batch.candidate_keys.items() if c in self.fill}

    def seed(self, attempt: int) -> int | None:
        if self.random_state is None:
            return None
        text = f"{self.random_state}/{self.table}/{self.batch.index}/{attempt}"
        return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def run_batch(job: BatchJob) -> tuple[list[dict[str, Any]], RowStats]:
    """The batch's rows (model-written columns only, in slot order) and how they came about."""
    stats = RowStats()
    slots = job.batch.slots
    if not job.fill:  # nothing for the model to write: keys only
        n = len(slots) if slots is not None else job.batch.children[0] or 1
        stats.rows = stats.first_try = n
        return [{} for _ in range(n)], stats
    enums = job.enums
    found: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    for attempt in range(job.max_retries + 1):
        if job.should_stop():
            raise MockCancelledError(f"cancelled while generating table {job.table!r}")
        pending = None if slots is None else [i for i in range(len(slots)) if i not in found]
        if pending == []:
            break
        rows = _ask(job, slots, pending, enums, attempt)
        if rows is None:
            stats.parse_failures += 1
            problems = ["the answer held no JSON rows"]
            continue
        if slots is None:  # children: the first readable answer fixes how many
            lo, hi = job.batch.children
            slots = [{} for _ in range(min(max(len(rows), lo), hi))]
            pending = list(range(len(slots)))
        problems = _accept(job, rows, pending, enums, found, stats, attempt)
    if slots is None or len(found) < len(slots):
        detail = "; ".join(problems[:5]) or "no answer"
        raise MockGenerationError(
            f"table {job.table!r}: no valid rows for batch {job.batch.index} after {job.max_retries + 1} "
            f"attempts (last problems: {detail}); try a stronger model, more max_retries, or simpler prompts"
        )
    stats.rows = len(slots)
    return [found[i] for i in range(len(slots))], stats


def _ask(
    job: BatchJob,
    slots: list[dict[str, Any]] | None,
    pending: list[int] | None,
    enums: dict[str, list[Any]],
    attempt: int,
) -> list[Any] | None:
    if slots is None or pending is None:
        batch, n_rows = job.batch, job.batch.children
    else:
        batch = dataclasses.replace(job.batch, slots=[slots[i] for i in pending])
        n_rows = (len(pending), len(pending))
    messages = batch_messages(job.table, job.spec, batch, job.fill, n_rows, job.previous)
    schema = batch_schema(job.fill, n_rows, enums=enums, bounded=job.backend.bounded)
    text = job.backend.complete(Request(messages, schema, job.seed(attempt), job.should_stop))
    try:
        return parse_rows(text)
    except ParseError:
        return None


def _accept(
    job: BatchJob,
    rows: list[Any],
    pending: list[int],
    enums: dict[str, list[Any]],
    found: dict[int, dict[str, Any]],
    stats: RowStats,
    attempt: int,
) -> list[str]:
    problems = []
    pk = job.spec.primary_key
    for slot, raw in zip(pending, rows, strict=False):
        checked = check_row(raw, job.fill, enums)
        if checked.ok and pk in job.fill and checked.values[pk] == "":
            checked.problems.append(f"{pk}: an empty key")
        if not checked.ok:
            stats.invalid += 1
            problems.extend(checked.problems)
            continue
        found[slot] = checked.values
        if attempt > 0:
            stats.regenerated += 1
        elif checked.repaired:
            stats.repaired += 1
        else:
            stats.first_try += 1
    if len(rows) < len(pending):
        problems.append(f"{len(pending) - len(rows)} rows missing from the answer")
    return problems
