"""Records as users see them (the reference client's shapes): the base view and `Generator`.

A record object is a view on `record.json` (name, description, config) and `status.json` (job status,
published tables and metrics) in a store. Statuses of running jobs are re-read on access, so
`g.training_status` follows a job started with `wait=False`. Its job is run through `JobHandle`
(`sdk/jobs/`); synthetic datasets are in `datasets.py`.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import time
import zipfile
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from synth_dagster.domain import GeneratorConfig, ModelMetrics, ProgressStatus
from synth_dagster.sdk.cloning import clone_record
from synth_dagster.sdk.connectors import load_connector_config
from synth_dagster.sdk.errors import InvalidRequestError, JobStateError, NotFoundError
from synth_dagster.sdk.frames import save_path
from synth_dagster.sdk.jobs.lifecycle import JobHandle
from synth_dagster.sdk.jobs.liveness import check_liveness
from synth_dagster.sdk.jobs.state import ACTIVE, TRAINING, JobKind, Paths, read_state
from synth_dagster.sdk.jobs.tracker import training_steps
from synth_dagster.sdk.store import Store
from synth_dagster.sdk.transfer import export_generator

log = logging.getLogger(__name__)


def _notebook_display() -> Any:
    """A function showing HTML inline, in a notebook kernel only: IPython installed but run as a
    terminal shell or imported by a script would print `<IPython.core.display.HTML object>`."""
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return None
    return lambda html: display(HTML(html))


STATUS_MAX_AGE_SECONDS = 0.5  # a status read longer ago is re-read on access (unless DONE)


def load_record(store: Store, kind: JobKind, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record, state) of one record of `kind`; NotFoundError if the store has none with that id."""
    if not isinstance(record_id, str) or not record_id:
        raise InvalidRequestError(f"a {kind.noun} id must be a non-empty string, got {record_id!r}")
    paths = Paths(kind, record_id)
    record = store.read_json_or_none(paths.record)
    if record is None:
        raise NotFoundError(
            f"no {kind.noun} with id {record_id!r} in {store.url}; list them with "
            f"client.{kind.folder.replace('-', '_')}.list()"
        )
    return record, read_state(store, paths)


class TableView:
    """One table of a generator or synthetic dataset, with its metrics."""

    def __init__(self, data: dict[str, Any]):
        self._data = data
        self.name: str = data["name"]
        self.total_rows: int | None = data.get("total_rows")
        self.columns: list[str] = data.get("columns", [])
        self.primary_key: str | None = data.get("primary_key")
        self.encodings: dict[str, str] = data.get("encodings") or {}
        # training figures (rows, epochs, seconds, stop reason, model size); empty for datasets
        self.summary: dict[str, Any] = dict(data.get("summary") or {})
        # the HTML report's path relative to the store root (see `client.store.path`), if any
        self.report: str | None = data.get("report")
        self.tabular_model_metrics: ModelMetrics | None = (
            ModelMetrics.model_validate(data["tabular_model_metrics"])
            if data.get("tabular_model_metrics")
            else None
        )

    def __repr__(self) -> str:
        return f"Table(name={self.name!r}, total_rows={self.total_rows})"


class _Record:
    kind: JobKind = TRAINING

    def __init__(
        self,
        store: Store,
        record: dict[str, Any],
        state: dict[str, Any] | None = None,
        quiet: bool = False,
    ):
        self.store = store
        self.quiet = quiet  # no progress bars in `wait()`
        self._meta = record
        self.paths = Paths(self.kind, record["id"])
        self._state = state if state is not None else read_state(store, self.paths)
        self._read_at = time.monotonic()

    # ------------------------------------------------------------- properties
    @property
    def id(self) -> str:
        return self._meta["id"]

    @property
    def name(self) -> str | None:
        return self._meta.get("name")

    @property
    def description(self) -> str | None:
        return self._meta.get("description")

    @property
    def created_at(self) -> dt.datetime | None:
        created = self._meta.get("created_at")
        return dt.datetime.fromisoformat(created) if created else None

    @property
    def directory(self) -> str:
        return self.paths.directory

    @property
    def _status(self) -> ProgressStatus:
        # why: another client or the worker may have moved it on; DONE is final
        status = self._state["status"]
        stale = time.monotonic() - self._read_at > STATUS_MAX_AGE_SECONDS
        if status in ACTIVE or (status != ProgressStatus.DONE.value and stale):
            self._refresh()
        return ProgressStatus(self._state["status"])

    @property
    def _finished_at(self) -> dt.datetime | None:
        value = self._state.get("finished_at")
        return dt.datetime.fromisoformat(value) if value and self._state["status"] == "DONE" else None

    @property
    def tables(self) -> list[TableView]:
        tables = self._state.get("tables") or self._meta.get("tables") or []
        return [TableView(t) for t in tables]

    @property
    def accuracy(self) -> float | None:
        """The mean overall accuracy of the tables (None before metrics exist)."""
        scores = [
            t.tabular_model_metrics.accuracy.overall
            for t in self.tables
            if t.tabular_model_metrics is not None
            and t.tabular_model_metrics.accuracy is not None
            and t.tabular_model_metrics.accuracy.overall is not None
        ]
        return sum(scores) / len(scores) if scores else None

    # ---------------------------------------------------------------- storage
    def _refresh(self) -> dict[str, Any]:
        store = self.store
        self._state = check_liveness(store, self.paths, read_state(store, self.paths))
        self._read_at = time.monotonic()
        return self._state

    def reload(self) -> _Record:
        """Re-read the record from the store."""
        meta = self.store.read_json_or_none(self.paths.record)
        if meta is None:
            raise NotFoundError(f"{self.kind.noun} {self.id} was deleted")
        self._meta = meta
        self._refresh()
        return self

    def _save(self) -> None:
        self.store.write_json(self.paths.record, self._meta)

    def update(self, name: str | None = None, description: str | None = None) -> None:
        """Rename or re-describe the record."""
        meta = self.store.read_json_or_none(self.paths.record)
        if meta is None:
            raise NotFoundError(f"{self.kind.noun} {self.id} was deleted")
        if name is not None:
            meta["name"] = name
        if description is not None:
            meta["description"] = description
        self._meta = meta
        self._save()

    def delete(self) -> None:
        """Delete the record with everything it owns; a running job is canceled first."""
        if self._refresh()["status"] in ACTIVE:
            JobHandle(self).cancel()
        self.store.delete(self.directory)

    # -------------------------------------------------------------------- jobs
    def _check_can_start(self) -> None:
        raise NotImplementedError

    def _planned_steps(self) -> list[Any]:
        raise NotImplementedError

    # ----------------------------------------------------------------- reports
    def report_paths(self) -> list[str]:
        return [t["report"] for t in self._state.get("tables") or [] if t.get("report")]

    def reports(self, file_path: str | os.PathLike[str] | None = None, display: bool = False) -> Path | None:
        """A ZIP of the HTML reports (saved to file_path or the working folder), or inline display.

        `display=True` shows them in a notebook; without IPython it prints where they are.

        Returns None when there are no reports (job not DONE, report disabled, or an imported record).
        """
        self._refresh()
        paths = self.report_paths()
        if not paths:
            log.warning(
                "%s %s has no reports (status %s); reports exist after a DONE job with reports enabled",
                self.kind.noun,
                self.id,
                self._state["status"],
            )
            return None
        store = self.store
        if display:
            show = _notebook_display()
            if show is None:  # a plain script or terminal: say where the reports are
                where = store.path if store.is_local else lambda p: f"{store.url.rstrip('/')}/{p}"
                print("\n".join(f"report: {where(p)}" for p in paths))
                return None
            for p in paths:
                show(store.read_bytes(p).decode())
            return None
        target = save_path(file_path, f"{self.kind.noun.replace(' ', '-')}-{self.id[:8]}-reports.zip")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for p in paths:
                archive.writestr(Path(p).name, store.read_bytes(p))
        target.write_bytes(buffer.getvalue())
        return target


class Generator(_Record):
    """A generator: the models trained on one or more source tables."""

    kind = TRAINING

    @property
    def training(self) -> JobHandle:
        return JobHandle(self)

    @property
    def training_status(self) -> ProgressStatus:
        return self._status

    @property
    def training_time(self) -> dt.datetime | None:
        """When training finished (UTC), once DONE."""
        return self._finished_at

    @property
    def random_state(self) -> int | None:
        return self.config().random_state

    @property
    def constraints(self) -> list[Any] | None:
        return self.config().constraints

    def config(self) -> GeneratorConfig:
        """The writable configuration (without training data, which is never stored with the generator)."""
        return GeneratorConfig.model_validate(self._meta["config"])

    def _check_can_start(self) -> None:
        store = self.store
        for table in self.config().tables or []:
            if table.source_connector_id:
                load_connector_config(store, table.source_connector_id)  # raises NotFoundError
            elif not store.exists(self.paths.input_file(table.name)):
                raise JobStateError(
                    f"table {table.name!r} of generator {self.id} has no training data in the store: rows "
                    "given as a DataFrame are kept only until a job has used them. Create a new generator "
                    "with the data (client.train(...)) or read the table through a connector "
                    "(source_connector_id + location)"
                )

    def _planned_steps(self) -> list[Any]:
        return training_steps(self.config())

    def export_to_file(self, file_path: str | os.PathLike[str] | None = None) -> Path:
        """Save the trained generator as a ZIP: config, models, statistics, reports (no data, no secrets)."""
        return export_generator(self, file_path)

    def clone(
        self,
        training_status: Literal["new", "continue"] = "new",
        data: pd.DataFrame | dict[str, pd.DataFrame] | None = None,
    ) -> Generator:
        """A copy of this generator: "new" to train from scratch, "continue" to train further.

        "continue" copies the trained model and metrics (status CONTINUE); its training resumes from
        the saved weights (and keeps them unless further training improves the validation loss).
        Rows given as DataFrames are deleted after training: give them again as `data` (a DataFrame
        for a single table, else {table: DataFrame}); tables read through connectors need none.
        """
        record, state = clone_record(self, training_status, data)
        return Generator(self.store, record, state, self.quiet)

    def __repr__(self) -> str:
        return f"Generator(id={self.id!r}, name={self.name!r}, training_status={self.training_status.value})"
