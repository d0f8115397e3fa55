"""Generators and synthetic datasets as users see them (the reference client's shapes).

A record object is a view on `record.json` (name, description, config) and `status.json` (job status,
published tables and metrics) in the store. Statuses of running jobs are re-read on access, so
`g.training_status` follows a job started with `wait=False`.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import signal
import time
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    JobProgress,
    ModelMetrics,
    ProgressStatus,
    SyntheticDatasetConfig,
    SyntheticDatasetDelivery,
)
from synth_dagster.domain.names import path_component
from synth_dagster.sdk import launcher
from synth_dagster.sdk.errors import JobFailedError, JobStateError, NotFoundError
from synth_dagster.sdk.frames import read_frame
from synth_dagster.sdk.jobs import (
    ACTIVE,
    GENERATION,
    HOST,
    TERMINAL,
    TRAINING,
    JobKind,
    Paths,
    abandon,
    age_seconds,
    check_liveness,
    now,
    process_alive,
    read_progress,
    read_state,
    table_file,
    write_state,
)
from synth_dagster.sdk.progress import JobDisplay
from synth_dagster.sdk.tracker import generation_steps, queued_progress, training_steps

if TYPE_CHECKING:
    from synth_dagster.sdk.client import SynthClient

log = logging.getLogger(__name__)
CANCEL_GRACE_SECONDS = 6.0  # how long cancel() waits for the worker to stop by itself
STATUS_MAX_AGE_SECONDS = 0.5  # a status read longer ago is re-read on access (unless DONE)
CLAIM_TIMEOUT_SECONDS = 60.0  # a start claim older than this whose job never got queued is stale
CLAIM_REREAD_SECONDS = 0.5  # how long a loser waits for the winner to finish writing its claim


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


class JobHandle:
    """`g.training` / `sd.generation`: start, wait, progress, cancel and logs of the record's job."""

    def __init__(self, record: _Record):
        self._record = record

    def start(self) -> None:
        """Queue the job and start its worker process; returns at once."""
        self._record._start_job()

    def wait(self, progress_bar: bool = True, interval: float = 2) -> None:
        """Poll until the job has ended. Raises JobFailedError if it FAILED (see `logs()`)."""
        self._record._wait_job(progress_bar, interval)

    def progress(self) -> JobProgress:
        """The job's progress, with one entry per step (training steps include loss messages)."""
        state = self._record._refresh()
        status = ProgressStatus(state["status"])
        progress = read_progress(self._record.client.store, self._record.paths)
        if progress is None or progress.id != state.get("job_id"):
            return JobProgress(id=state.get("job_id"), status=status, steps=[])
        if status.is_terminal and progress.status is not status:
            progress.status = status  # the status file is the truth (a job ended by a client)
        return progress

    def cancel(self) -> None:
        """Ask the job to stop and wait (a few seconds) until it has; a finished job is left as it is."""
        self._record._cancel_job()

    def logs(self, file_path: str | os.PathLike[str] | None = None) -> Path:
        """Save the log of the latest job to `file_path` (a file or folder; default: working folder)."""
        return self._record._save_logs(file_path)

    def __repr__(self) -> str:
        return f"<{self._record.kind.name} of {self._record!r}>"


class _Record:
    kind: JobKind = TRAINING

    def __init__(self, client: SynthClient, record: dict[str, Any], state: dict[str, Any] | None = None):
        self.client = client
        self._meta = record
        self.paths = Paths(self.kind, record["id"])
        self._state = state if state is not None else read_state(client.store, self.paths)
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
        store = self.client.store
        self._state = check_liveness(store, self.paths, read_state(store, self.paths))
        self._read_at = time.monotonic()
        return self._state

    def reload(self) -> _Record:
        """Re-read the record from the store."""
        meta = self.client.store.read_json_or_none(self.paths.record)
        if meta is None:
            raise NotFoundError(f"{self.kind.noun} {self.id} was deleted")
        self._meta = meta
        self._refresh()
        return self

    def _save(self) -> None:
        self.client.store.write_json(self.paths.record, self._meta)

    def update(self, name: str | None = None, description: str | None = None) -> None:
        """Rename or re-describe the record."""
        meta = self.client.store.read_json_or_none(self.paths.record)
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
            self._cancel_job()
        self.client.store.delete(self.directory)

    # -------------------------------------------------------------------- jobs
    def _check_can_start(self) -> None:
        raise NotImplementedError

    def _planned_steps(self) -> list[Any]:
        raise NotImplementedError

    def _start_job(self) -> None:
        launcher.ensure_not_bootstrapping()
        store = self.client.store
        state = self._refresh()
        status = state["status"]
        if status in ACTIVE:
            raise JobStateError(
                f"{self.kind.noun} {self.id} is already {status}; wait with .{self.kind.name}.wait() "
                f"or stop it with .{self.kind.name}.cancel()"
            )
        if status == ProgressStatus.DONE.value:
            hint = (
                "use .clone() or .clone('continue') to train again"
                if self.kind is TRAINING
                else "create a new synthetic dataset with client.generate(...)"
            )
            raise JobStateError(f"{self.kind.noun} {self.id} is already DONE; {hint}")
        self._check_can_start()
        job_id = str(uuid.uuid4())
        self._claim(state.get("job_id"), job_id)
        state.update(
            status=ProgressStatus.QUEUED.value,
            job_id=job_id,
            queued_at=now(),
            started_at=None,
            finished_at=None,
            error=None,
        )
        store.write_json(self.paths.progress, queued_progress(job_id, self._planned_steps()))
        store.write_bytes(
            self.paths.log(job_id),
            f"{now()} INFO job {job_id} queued by pid {os.getpid()} on {HOST}\n".encode(),
        )
        write_state(store, self.paths, state)
        self._state = state
        try:
            launcher.launch(store, self.kind.name, self.id, job_id)
        except Exception as exc:
            self._state = abandon(store, self.paths, job_id, f"could not start the worker process: {exc}")
            raise

    def _claim(self, previous_job: str | None, job_id: str) -> None:
        """Make sure only one client starts the next job (two `start()` calls race for one claim file)."""
        store = self.client.store
        claim = self.paths.claim(previous_job)
        if store.create_exclusive(claim, f"{job_id} {now()}".encode()):
            return
        claimed = (store.read_json_or_none(self.paths.status) or {}).get("job_id")
        other, at = self._read_claim(claim)
        if at is None:
            # empty: the winner created the file and is writing it right now; look again
            time.sleep(CLAIM_REREAD_SECONDS)
            other, at = self._read_claim(claim)
        # a claim whose job never got queued belongs to a client that died while starting
        if other != claimed and age_seconds(at) > CLAIM_TIMEOUT_SECONDS:
            store.delete(claim)
            if store.create_exclusive(claim, f"{job_id} {now()}".encode()):
                return
        raise JobStateError(
            f"{self.kind.noun} {self.id} was just started by another client; "
            f"follow it with .{self.kind.name}.wait()"
        )

    def _read_claim(self, claim: str) -> tuple[str, str | None]:
        """(job id, claimed at) of a claim file; ("", None) while it is missing or still empty."""
        try:
            other, at = self.client.store.read_bytes(claim).decode().split(" ", 1)
        except (FileNotFoundError, ValueError):
            return "", None
        return other, at

    def _wait_job(self, progress_bar: bool, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be a positive number of seconds")
        show = progress_bar and not self.client.quiet
        title = f"{self.kind.name.capitalize()} {self.name or self.id}"
        with JobDisplay(show, title) as display:
            while True:
                state = self._refresh()
                if show:
                    display.update(read_progress(self.client.store, self.paths))
                if state["status"] not in ACTIVE:
                    break
                time.sleep(interval)
        status = state["status"]
        if status in (ProgressStatus.NEW.value, ProgressStatus.CONTINUE.value):
            raise JobStateError(
                f"{self.kind.noun} {self.id} has not been started; call .{self.kind.name}.start()"
            )
        if status == ProgressStatus.FAILED.value:
            raise JobFailedError(
                f"{self.kind.name} of {self.kind.noun} {self.id} failed: {state.get('error')}; "
                f"the full log is in .{self.kind.name}.logs()"
            )

    def _cancel_job(self) -> None:
        store = self.client.store
        state = self._refresh()
        if state["status"] not in ACTIVE:
            return
        job_id = state["job_id"]
        store.write_bytes(self.paths.cancel_flag(job_id), b"")
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self._refresh()["status"] not in ACTIVE:
                return
        info = store.read_json_or_none(self.paths.worker) or {}
        same_host = info.get("job_id") == job_id and info.get("host") == HOST
        if job_id not in launcher.RUNNING and not same_host:
            log.warning(
                "%s %s: the worker on %s has not stopped yet; it will stop at its next check",
                self.kind.noun,
                self.id,
                info.get("host", "another host"),
            )
            return

        def stop() -> None:
            if (
                not launcher.stop(job_id)
                and same_host
                and process_alive(int(info["pid"]), info.get("start_ticks"))
            ):
                os.kill(int(info["pid"]), signal.SIGTERM)

        self._state = abandon(
            store,
            self.paths,
            job_id,
            f"canceled; the worker did not stop within {CANCEL_GRACE_SECONDS:.0f} s and was terminated",
            ProgressStatus.CANCELED,
            stop_worker=stop,
        )

    def _save_logs(self, file_path: str | os.PathLike[str] | None) -> Path:
        job_id = self._refresh().get("job_id")
        if not job_id:
            raise JobStateError(
                f"{self.kind.noun} {self.id} has no {self.kind.name} job yet, so there are no logs"
            )
        try:
            text = self.client.store.read_bytes(self.paths.log(job_id))
        except FileNotFoundError:
            text = b""
        default = f"{self.kind.noun.replace(' ', '-')}-{self.id[:8]}-{self.kind.name}.log"
        target = _target(file_path, default)
        target.write_bytes(text)
        return target

    # ----------------------------------------------------------------- reports
    def report_paths(self) -> list[str]:
        return [t["report"] for t in self._state.get("tables") or [] if t.get("report")]

    def reports(self, file_path: str | os.PathLike[str] | None = None, display: bool = False) -> Path | None:
        """A ZIP of the HTML reports (saved to file_path or the working folder), or inline display.

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
        store = self.client.store
        if display:
            try:
                from IPython.display import HTML
                from IPython.display import display as show
            except ImportError:
                raise JobStateError(
                    "reports(display=True) needs IPython (a notebook); use reports() for a ZIP"
                ) from None
            for p in paths:
                show(HTML(store.read_bytes(p).decode()))
            return None
        target = _target(file_path, f"{self.kind.noun.replace(' ', '-')}-{self.id[:8]}-reports.zip")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for p in paths:
                archive.writestr(Path(p).name, store.read_bytes(p))
        target.write_bytes(buffer.getvalue())
        return target


def _target(file_path: str | os.PathLike[str] | None, default_name: str) -> Path:
    target = Path(file_path) if file_path else Path.cwd() / default_name
    if target.is_dir():
        target = target / default_name
    target.parent.mkdir(parents=True, exist_ok=True)
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
        from synth_dagster.sdk.connectors import load_connector_config

        store = self.client.store
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
        from synth_dagster.sdk.transfer import export_generator

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
        return self.client.generators._clone(self, training_status, data)

    def __repr__(self) -> str:
        return f"Generator(id={self.id!r}, name={self.name!r}, training_status={self.training_status.value})"


class SyntheticDataset(_Record):
    """Synthetic tables drawn from a generator, with their data reports."""

    kind = GENERATION

    @property
    def generation(self) -> JobHandle:
        return JobHandle(self)

    @property
    def generation_status(self) -> ProgressStatus:
        return self._status

    @property
    def generation_time(self) -> dt.datetime | None:
        return self._finished_at

    @property
    def generator_id(self) -> str:
        return self._meta["generator_id"]

    @property
    def delivery(self) -> SyntheticDatasetDelivery | None:
        return self.config().delivery

    @property
    def random_state(self) -> int | None:
        return self.config().random_state

    def config(self) -> SyntheticDatasetConfig:
        """The writable configuration (a seed given as a DataFrame is not kept after the job)."""
        return SyntheticDatasetConfig.model_validate(self._meta["config"])

    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        delivery: SyntheticDatasetDelivery | dict[str, Any] | None = None,
    ) -> None:
        super().update(name, description)
        if delivery is not None:
            checked = SyntheticDatasetDelivery.model_validate(
                delivery.model_dump() if isinstance(delivery, SyntheticDatasetDelivery) else delivery
            )
            self._meta["config"]["delivery"] = checked.model_dump(mode="json")
            self._save()

    def _check_can_start(self) -> None:
        generator = self.client.generators.get(self.generator_id)
        if generator.training_status is not ProgressStatus.DONE:
            raise JobStateError(
                f"generator {generator.id} is {generator.training_status.value}, not DONE; "
                "train it (g.training.start(); g.training.wait()) before generating"
            )

    def _planned_steps(self) -> list[Any]:
        return generation_steps(self.config(), self._meta.get("generator_tables") or [])

    def _frames(self) -> dict[str, pd.DataFrame]:
        status = self._status
        if status is not ProgressStatus.DONE:
            raise JobStateError(
                f"synthetic dataset {self.id} is {status.value}, not DONE; "
                + (
                    "wait for it with sd.generation.wait()"
                    if status.value in ACTIVE
                    else "start it with sd.generation.start()"
                    if status.value not in TERMINAL
                    else "see sd.generation.logs()"
                )
            )
        return {t["name"]: read_frame(self.client.store, t["data"]) for t in self._state.get("tables") or []}

    def data(self, return_type: Literal["auto", "dict"] = "auto") -> pd.DataFrame | dict[str, pd.DataFrame]:
        """The synthetic tables: one DataFrame for a single table ("auto"), else a dict of them."""
        frames = self._frames()
        if return_type == "auto" and len(frames) == 1:
            return next(iter(frames.values()))
        return frames

    def download(
        self,
        file_path: str | os.PathLike[str] | None = None,
        format: Literal["parquet", "csv", "json"] = "parquet",
    ) -> Path:
        """Save the data: one file for a single table, else a ZIP with one file per table.

        JSON is a list of records per table.
        """
        if format not in ("parquet", "csv", "json"):
            raise ValueError(f"format must be 'parquet', 'csv' or 'json', got {format!r}")
        frames = self._frames()

        def encode(frame: pd.DataFrame) -> bytes:
            if format == "parquet":
                return frame.to_parquet(index=False)
            if format == "csv":
                return frame.to_csv(index=False).encode()
            return frame.to_json(orient="records", date_format="iso").encode()

        base = path_component(self.name or f"synthetic-dataset-{self.id[:8]}", "synthetic dataset name")
        if len(frames) == 1:
            target = _target(file_path, f"{base}.{format}")
            target.write_bytes(encode(next(iter(frames.values()))))
            return target
        target = _target(file_path, f"{base}.zip")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, frame in frames.items():
                archive.writestr(f"{table_file(name)}.{format}", encode(frame))
        target.write_bytes(buffer.getvalue())
        return target

    def __repr__(self) -> str:
        return (
            f"SyntheticDataset(id={self.id!r}, name={self.name!r}, "
            f"generation_status={self.generation_status.value})"
        )
