"""`sample()`: mock data for every table of a spec, parents first, batches run by `n_workers` threads.

Cancel: set the `cancel` event (a `threading.Event`) from any thread, or press Ctrl-C; no new
batch starts, a local model stops between two tokens, and `MockCancelledError` (or the
KeyboardInterrupt) is raised; nothing partial is returned.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypedDict, Unpack

import pandas as pd

from synth_dagster.mock.backends import Backend, LLMSettings, make_backend
from synth_dagster.mock.batches import BatchJob, RowStats, run_batch
from synth_dagster.mock.errors import MockCancelledError, MockSpecError
from synth_dagster.mock.plan import sample_sizes, table_order
from synth_dagster.mock.progress import ProgressReporter
from synth_dagster.mock.spec import MockSpec, parse_spec
from synth_dagster.mock.tables import assemble, columns_to_fill, plan_batches

__all__ = ["DEFAULTS", "MockOptions", "MockResult", "generate", "sample"]

DEFAULT_MODEL = "openai/gpt-5-nano"
DEFAULT_BATCH_SIZE = 10


@dataclass
class MockResult:
    """The frames, and how they came about (for benchmarks and Dagster metadata)."""

    frames: dict[str, pd.DataFrame]
    model: str
    rows: RowStats
    calls: int
    transport_retries: int
    elapsed_s: float
    row_counts: dict[str, int] = field(default_factory=dict)
    batches: int = 0  # batches that needed the model

    @property
    def retries(self) -> int:
        """Calls beyond one per batch: regenerations and unreadable answers (transport retries,
        which the backend repeats itself, are counted apart)."""
        return max(self.calls - self.transport_retries - self.batches, 0)


class MockOptions(TypedDict, total=False):
    """The keyword arguments of `sample()` and `generate()` beside `tables` (defaults: `DEFAULTS`)."""

    sample_size: int | Mapping[str, int]
    existing_data: Mapping[str, pd.DataFrame] | None
    model: str
    api_key: str | None
    temperature: float
    top_p: float
    n_workers: int
    progress_callback: Callable[..., Any] | None
    api_base: str | None
    batch_size: int
    max_retries: int
    timeout: float
    random_state: int | None
    cancel: threading.Event | None


DEFAULTS: MockOptions = {
    "sample_size": 4,
    "existing_data": None,
    "model": DEFAULT_MODEL,
    "api_key": None,
    "temperature": 1.0,
    "top_p": 0.95,
    "n_workers": 10,
    "progress_callback": None,
    "api_base": None,
    "batch_size": DEFAULT_BATCH_SIZE,
    "max_retries": 3,
    "timeout": 120.0,
    "random_state": None,
    "cancel": None,
}


def sample(
    *,
    tables: MockSpec | Mapping[str, Any],
    sample_size: int | Mapping[str, int] = 4,
    existing_data: Mapping[str, pd.DataFrame] | None = None,
    model: str = DEFAULT_MODEL,
    api_key: str | None = None,
    temperature: float = 1.0,
    top_p: float = 0.95,
    n_workers: int = 10,
    return_type: Literal["auto", "dict"] = "auto",
    progress_callback: Callable[..., Any] | None = None,
    **options: Unpack[MockOptions],
) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """Generate mock data from the `tables` specification, or enrich `existing_data` with the
    missing columns. Returns one DataFrame for a one-table spec with `return_type="auto"`, else a
    dict of DataFrames by table name. The signature is the reference's; our additions go in
    `options` (`api_base=None, batch_size=10, max_retries=3, timeout=120.0, random_state=None,
    cancel=None`, see `MockOptions`). See docs/mock.md."""
    # The reference's parameters stay explicit so that help() and IDEs show them as users know them.
    options.update(  # type: ignore[typeddict-item]
        sample_size=sample_size,
        existing_data=existing_data,
        model=model,
        api_key=api_key,
        temperature=temperature,
        top_p=top_p,
        n_workers=n_workers,
        progress_callback=progress_callback,
    )
    if return_type not in ("auto", "dict"):
        raise MockSpecError(f"return_type must be 'auto' or 'dict', got {return_type!r}")
    result = generate(tables=tables, **options)
    if return_type == "auto" and len(result.frames) == 1:
        return next(iter(result.frames.values()))
    return result.frames


def generate(
    *,
    tables: MockSpec | Mapping[str, Any],
    backend: Backend | None = None,
    progress_bar: bool = True,
    **options: Unpack[MockOptions],
) -> MockResult:
    """`sample()` returning a MockResult (frames and figures); `backend` overrides `model`."""
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
    opts = {**DEFAULTS, **options}
    spec = parse_spec(tables)
    existing = _check_existing(spec, opts["existing_data"])
    sizes = sample_sizes(spec, opts["sample_size"], existing)
    batch_size = opts["batch_size"]
    if not isinstance(batch_size, int) or batch_size < 1:
        raise MockSpecError(f"batch_size must be a whole number >= 1, got {batch_size!r}")
    settings = LLMSettings(**{f.name: opts[f.name] for f in fields(LLMSettings)})  # type: ignore[literal-required]
    backend = backend or make_backend(settings)
    backend.check()  # before any call: no key or endpoint -> MockConfigError
    run = _Run(
        spec,
        backend,
        existing,
        sizes,
        batch_size,
        max(1, min(int(opts["n_workers"]), 10)),
        settings.max_retries,
        opts["random_state"],
        opts["cancel"] or threading.Event(),
        ProgressReporter(opts["progress_callback"], bar=progress_bar),
    )
    return run.all_tables()


def _check_existing(spec: MockSpec, data: Mapping[str, pd.DataFrame] | None) -> dict[str, pd.DataFrame]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise MockSpecError("existing_data must be a dict of DataFrames by table name")
    problems = []
    for name, frame in data.items():
        if name not in spec.tables:
            problems.append(f"existing_data[{name!r}]: no such table in the spec ({', '.join(spec.tables)})")
        elif not isinstance(frame, pd.DataFrame):
            problems.append(
                f"existing_data[{name!r}]: expected a pandas DataFrame, got {type(frame).__name__}"
            )
    if problems:
        raise MockSpecError(problems)
    return dict(data)


@dataclass
class _Run:
    spec: MockSpec
    backend: Backend
    existing: dict[str, pd.DataFrame]
    sizes: dict[str, int]
    batch_size: int
    n_workers: int
    max_retries: int
    random_state: int | None
    cancel: threading.Event
    progress: ProgressReporter
    stats: RowStats = field(default_factory=RowStats)
    batches: int = 0

    def all_tables(self) -> MockResult:
        t0 = time.monotonic()
        frames: dict[str, pd.DataFrame] = {}
        try:
            with ThreadPoolExecutor(max_workers=self.n_workers, thread_name_prefix="mock") as pool:
                for name in table_order(self.spec):
                    frames[name] = self._table(name, frames, pool)
        finally:
            self.progress.close()
        result = MockResult(
            frames={n: frames[n] for n in self.spec.tables},
            model=self.backend.name,
            rows=self.stats,
            calls=self.backend.stats.calls,
            transport_retries=self.backend.stats.transport_retries,
            elapsed_s=time.monotonic() - t0,
            row_counts={n: len(f) for n, f in frames.items()},
            batches=self.batches,
        )
        return result

    def _table(self, name: str, frames: dict[str, pd.DataFrame], pool: ThreadPoolExecutor) -> pd.DataFrame:
        rng = random.Random(f"{self.random_state}/{name}")
        existing = self.existing.get(name)
        given = set(existing.columns) if existing is not None else set()
        fill = columns_to_fill(name, self.spec.tables[name], given, frames)
        batches = plan_batches(name, self.spec, frames, existing, self.sizes.get(name), self.batch_size, rng)
        self.batches += len(batches) if fill else 0
        self.progress.start(name, len(batches))
        jobs = [
            BatchJob(
                name,
                self.spec.tables[name],
                b,
                fill,
                self.backend,
                self.max_retries,
                self.cancel.is_set,
                self.random_state,
            )
            for b in batches
        ]
        answers = self._run_jobs(name, jobs, pool)
        return assemble(name, self.spec, batches, answers, frames, existing, rng)

    def _run_jobs(
        self, name: str, jobs: list[BatchJob], pool: ThreadPoolExecutor
    ) -> list[list[dict[str, Any]]]:
        if self.n_workers == 1:  # sequential: each batch sees the rows made before it
            answers: list[list[dict[str, Any]]] = []
            for job in jobs:
                job.previous = [r for a in answers for r in a]
                answers.append(self._one(name, job))
            return answers
        futures = [pool.submit(self._one, name, job) for job in jobs]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                self.cancel.set()
                raise failed[0].exception()  # type: ignore[misc]
        except BaseException:
            self.cancel.set()
            for future in futures:
                future.cancel()
            raise
        return [f.result() for f in futures]

    def _one(self, name: str, job: BatchJob) -> list[dict[str, Any]]:
        if self.cancel.is_set():
            raise MockCancelledError(f"cancelled before table {name!r} was complete")
        rows, stats = run_batch(job)
        self.stats.merge(stats)
        self.progress.advance(name, len(rows))
        return rows
