"""The worker process: runs one training or generation job against the store, then exits.

Started by `launcher.launch`: forked by the fork server (`server.py`), or as
`python -m synth_dagster.sdk.jobs.worker JOB_ID` with the job's spec as JSON on stdin ("spawn"). Everything the job needs is in the store; everything it
produces goes under `artifacts/<job>/` and becomes visible only when `status.json` says DONE.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    ProgressStatus,
    StepCode,
    SyntheticDatasetConfig,
)
from synth_dagster.engine import TrainedGenerator, TrainingCanceled, train_generator
from synth_dagster.engine.device import resolve_device
from synth_dagster.engine.multitable.chunks import DEFAULT_CHUNK_ROWS, plan_chunks
from synth_dagster.engine.progress import EngineProgress
from synth_dagster.sdk import quality
from synth_dagster.sdk.connectors import load_connector_config
from synth_dagster.sdk.frames import read_frame
from synth_dagster.sdk.jobs.messages import decode
from synth_dagster.sdk.jobs.state import (
    GENERATION,
    HEARTBEAT_SECONDS,
    HOST,
    KINDS,
    SEED_PREFIX,
    TERMINAL,
    TRAINING,
    Paths,
    append_log,
    clean_up,
    finish,
    now,
    process_start_ticks,
    read_state,
    scratch_dir,
    table_file,
    write_state,
)
from synth_dagster.sdk.jobs.streaming import local_parts, write_chunks
from synth_dagster.sdk.jobs.tracker import JobTracker, generation_steps, training_steps
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)


class JobCanceled(Exception):
    """Raised inside the worker when the job's cancel flag appears."""


class _Heartbeat(threading.Thread):
    """Writes `job/worker.json` every few seconds, so clients on any host can tell the worker is alive."""

    def __init__(self, store: Store, paths: Paths, job_id: str):
        super().__init__(daemon=True, name="synth-dagster-heartbeat")
        self.store, self.paths = store, paths
        pid = os.getpid()
        self.info = {
            "job_id": job_id,
            "pid": pid,
            "host": HOST,
            "start_ticks": process_start_ticks(pid),
            "started_at": now(),
        }
        self.stopped = threading.Event()

    def beat(self) -> None:
        self.store.write_json(self.paths.worker, {**self.info, "heartbeat_at": now()})

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                self.beat()
            except Exception:  # a missed beat is not fatal; the next one may succeed
                log.debug("heartbeat failed", exc_info=True)


class _Job:
    kind = TRAINING

    def __init__(self, store: Store, record_id: str, job_id: str):
        self.store = store
        self.paths = Paths(self.kind, record_id)
        self.job_id = job_id
        self.tracker: JobTracker | None = None
        self._cancel_checked = 0.0
        self._canceled = False
        self._check_every = 0.3 if store.is_local else 1.0

    # ---------------------------------------------------------------- cancel
    def interrupt(self, signum: int, frame: object) -> None:
        """SIGINT (Ctrl-C in the terminal that started the job) cancels the job cleanly."""
        self._canceled = True
        self._log("INFO", "interrupted (SIGINT): canceling")

    def canceled(self) -> bool:
        """True once the cancel flag exists (checked at most every few hundred ms: it is a store read)."""
        if not self._canceled and time.monotonic() - self._cancel_checked >= self._check_every:
            self._cancel_checked = time.monotonic()
            self._canceled = self.store.exists(self.paths.cancel_flag(self.job_id))
        return self._canceled

    def check(self) -> None:
        if self.canceled():
            raise JobCanceled()

    # ------------------------------------------------------------------- run
    def run(self) -> None:
        state = read_state(self.store, self.paths)
        if state.get("job_id") != self.job_id or state["status"] in TERMINAL:
            return  # superseded or already ended (e.g. canceled while queued and cleaned up)
        heartbeat = _Heartbeat(self.store, self.paths, self.job_id)
        heartbeat.beat()
        heartbeat.start()
        status, error, results = ProgressStatus.DONE, None, {}
        scratch = scratch_dir(self.job_id)
        scratch.mkdir(parents=True, exist_ok=True)
        scratch.chmod(0o700)  # it holds reference rows of the training data before they are published
        try:
            record = self.store.read_json(self.paths.record)
            self.tracker = self.make_tracker(record)
            logging.getLogger("synth_dagster").addHandler(self.tracker.handler)
            logging.getLogger("synth_dagster").setLevel(logging.INFO)
            state = read_state(self.store, self.paths)
            if state.get("job_id") != self.job_id or state["status"] in TERMINAL:
                raise JobCanceled()  # ended by a client while the worker was starting
            state.update(status=ProgressStatus.IN_PROGRESS.value, started_at=now())
            write_state(self.store, self.paths, state)
            self.tracker.info(f"{self.kind.name} job {self.job_id} started in pid {os.getpid()} on {HOST}")
            self.check()
            results = self.execute(record, scratch)
            self.check()  # last chance: once DONE is written, the job can no longer be canceled
        except (JobCanceled, TrainingCanceled):
            status = ProgressStatus.CANCELED
            self._log("INFO", f"{self.kind.name} was canceled")
        except BaseException as exc:
            status, error = ProgressStatus.FAILED, f"{type(exc).__name__}: {exc}"
            self._log("ERROR", f"{self.kind.name} failed: {error}\n{traceback.format_exc()}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if status is ProgressStatus.DONE:
            results["artifact"] = self.job_id
        heartbeat.stopped.set()
        heartbeat.join(HEARTBEAT_SECONDS)
        # log, progress and clean-up before the status: whoever sees the end of the job sees all of it
        if self.tracker is not None:
            self.tracker.log("INFO", f"{self.kind.name} ended with status {status.value}")
            self.tracker.close(status, error)
        elif error:
            append_log(self.store, self.paths, self.job_id, f"ERROR {error}")
        keep = results.get("artifact", state.get("artifact"))
        clean_up(self.store, self.paths, {"artifact": keep, "job_id": self.job_id})
        finish(self.store, self.paths, self.job_id, status, error, **results)
        if not self.store.exists(self.paths.record):  # the record was deleted while the job ran
            self.store.delete(self.paths.directory)

    def _log(self, level: str, message: str) -> None:
        if self.tracker is not None:
            self.tracker.log(level, message)

    def make_tracker(self, record: dict[str, Any]) -> JobTracker:
        raise NotImplementedError

    def execute(self, record: dict[str, Any], scratch: Path) -> dict[str, Any]:
        raise NotImplementedError

    def publish(self, local: Path, relative: str, private: bool = False) -> None:
        if local.exists() and any(local.iterdir()):
            self.store.put_dir(local, relative, private=private)


class TrainingJob(_Job):
    kind = TRAINING

    def make_tracker(self, record: dict[str, Any]) -> JobTracker:
        config = GeneratorConfig.model_validate(record["config"])
        return JobTracker(self.store, self.paths, self.job_id, training_steps(config))

    def pull(self, config: GeneratorConfig) -> dict[str, pd.DataFrame]:
        assert self.tracker is not None
        frames = {}
        for table in config.tables or []:
            self.check()
            self.tracker.begin(StepCode.PULL_TRAINING_DATA, table.name)
            if table.source_connector_id:
                cfg = load_connector_config(self.store, table.source_connector_id)
                mc = table.tabular_model_configuration
                limit = mc.max_sample_size if mc is not None else None
                from synth_dagster.connectors import create_connector

                with create_connector(cfg) as connector:
                    frame = connector.read_training_data(
                        table.location or "", limit=limit, shuffle=limit is not None
                    )
                self.tracker.info(f"{table.name}: read {len(frame)} rows from connector {table.location!r}")
            else:
                frame = read_frame(self.store, self.paths.input_file(table.name))
            frames[table.name] = frame.reset_index(drop=True)
            self.tracker.done(StepCode.PULL_TRAINING_DATA, table.name)
        return frames

    def execute(self, record: dict[str, Any], scratch: Path) -> dict[str, Any]:
        assert self.tracker is not None
        tracker = self.tracker
        config = GeneratorConfig.model_validate(record["config"])
        frames = self.pull(config)

        def on_progress(event: EngineProgress) -> None:
            tracker.engine_event(event)

        workspace = scratch / "model"
        # clone("continue") gave this generator a copy of the trained model: training resumes from it
        previous = read_state(self.store, self.paths).get("artifact")
        warm_start = None
        if previous:
            warm_start = self.store.get_dir(
                f"{self.paths.artifacts(previous)}/model", scratch / "previous-model"
            )
            tracker.info(f"continuing from the saved weights of {previous}")
        device = record.get("device")
        tracker.info(f"training on {resolve_device(device)} (device {device or 'auto'!r})")
        summaries = train_generator(
            config, frames, workspace, on_progress, self.canceled, warm_start=warm_start, device=device
        )
        trained = TrainedGenerator(workspace)
        report_tables = {
            t.name
            for t in config.tables or []
            if t.tabular_model_configuration is None
            or t.tabular_model_configuration.enable_model_report is not False
        }
        for name in frames:
            tracker.begin(StepCode.GENERATE_MODEL_REPORT_DATA, name)
        qa = quality.model_quality(
            trained, frames, report_tables, config.random_state, scratch / "reports", self.check
        )
        for name in report_tables:
            tracker.done(StepCode.CREATE_MODEL_REPORT, name)
        quality.reference_rows(trained, frames, scratch / "qa")
        tracker.begin(StepCode.FINALIZE_TRAINING)
        self.check()
        self.publish(workspace, f"{self.paths.artifacts(self.job_id)}/model")
        self.publish(scratch / "reports", f"{self.paths.artifacts(self.job_id)}/reports")
        self.publish(scratch / "qa", self.paths.qa(self.job_id), private=True)
        tables = []
        for name, summary in summaries.items():
            report = qa[name]["report"]
            tables.append(
                {
                    "name": name,
                    "total_rows": summary.rows,
                    "columns": list(frames[name].columns),
                    "primary_key": config.get_table(name).primary_key,
                    "encodings": summary.encodings,
                    "summary": vars(summary),
                    "tabular_model_metrics": qa[name]["metrics"],
                    "report": f"{self.paths.artifacts(self.job_id)}/reports/{report}" if report else None,
                }
            )
        tracker.info(
            f"trained {len(tables)} table(s): "
            + ", ".join(f"{s.name} ({s.epochs:.1f} epochs)" for s in summaries.values())
        )
        return {"tables": tables}


class GenerationJob(_Job):
    kind = GENERATION

    def make_tracker(self, record: dict[str, Any]) -> JobTracker:
        config = SyntheticDatasetConfig.model_validate(record["config"])
        return JobTracker(
            self.store,
            self.paths,
            self.job_id,
            generation_steps(config, record.get("generator_tables") or []),
        )

    def _config_with_seeds(self, record: dict[str, Any]) -> SyntheticDatasetConfig:
        config = SyntheticDatasetConfig.model_validate(record["config"])
        for table in config.tables or []:
            seed_file = self.paths.input_file(table.name, SEED_PREFIX)
            if self.store.exists(seed_file):
                table.configuration.sample_seed_data = read_frame(self.store, seed_file)
        return config

    def _trained(self, generator_id: str, device: str | None) -> tuple[TrainedGenerator, str | None]:
        gpaths = Paths(TRAINING, generator_id)
        gstate = read_state(self.store, gpaths)
        if gstate["status"] != ProgressStatus.DONE.value or not gstate.get("artifact"):
            raise RuntimeError(
                f"generator {generator_id} is {gstate['status']}, not DONE; train it before generating"
            )
        artifact = gstate["artifact"]
        model = self.store.get_dir(
            f"{gpaths.artifacts(artifact)}/model",
            self.store.local_cache("generators", generator_id, artifact),
        )
        qa_dir = gpaths.qa(artifact)
        return TrainedGenerator(model, device), qa_dir if self.store.exists(qa_dir) else None

    def execute(self, record: dict[str, Any], scratch: Path) -> dict[str, Any]:
        assert self.tracker is not None
        tracker = self.tracker
        config = self._config_with_seeds(record)
        trained, qa_dir = self._trained(record["generator_id"], record.get("device"))

        def on_progress(event: EngineProgress) -> None:
            self.check()  # the engine has no stop hook for generation; raising here stops it
            tracker.engine_event(event)
            if event.step == "GENERATE_DATA" and event.completed >= event.total and plan.n_chunks == 1:
                tracker.done(StepCode.GENERATE_DATA, event.table)

        tracker.begin(StepCode.GENERATE_DATA, trained.order[0])
        plan = plan_chunks(trained, config, int(record.get("chunk_rows") or DEFAULT_CHUNK_ROWS))
        if plan.n_chunks > 1:
            tracker.info(f"generating in {plan.n_chunks} chunks (random_state {plan.random_state})")
        data_dir = scratch / "data"
        data_dir.mkdir()
        streamed = write_chunks(trained, config, plan, data_dir, self.check, on_progress)
        for name in streamed.rows:
            tracker.done(StepCode.GENERATE_DATA, name)
        self.check()
        frames = streamed.sample  # the data report scores chunk 0 (all rows of a one-chunk draw)
        enabled = {n for n in frames if config.table_configuration(n).enable_data_report is not False}
        for name in enabled:
            tracker.begin(StepCode.CREATE_DATA_REPORT, name)
        qa = quality.data_quality(
            self.store,
            qa_dir,
            frames,  # all of them: a table with a data report may need its parent's rows
            scratch / "reports",
            self.check,
            config=trained.config,
            tables=enabled,
        )
        for name in enabled:
            tracker.done(StepCode.CREATE_DATA_REPORT, name)
        if config.delivery is not None:
            self.check()
            tracker.begin(StepCode.DELIVER_DATA)
            self.deliver(config, data_dir, streamed.paths)
            tracker.done(StepCode.DELIVER_DATA)
        tracker.begin(StepCode.FINALIZE_GENERATION)
        self.check()
        artifacts = self.paths.artifacts(self.job_id)
        self.publish(data_dir, f"{artifacts}/data")
        self.publish(scratch / "reports", f"{artifacts}/reports")
        tables = []
        for name, relative in streamed.paths.items():
            report = qa.get(name, {}).get("report")
            tables.append(
                {
                    "name": name,
                    "total_rows": streamed.rows[name],
                    "columns": streamed.columns[name],
                    "data": f"{artifacts}/data/{relative}",
                    "parts": streamed.parts[name] if plan.n_chunks > 1 else None,
                    "tabular_model_metrics": qa.get(name, {}).get("metrics"),
                    "report": f"{artifacts}/reports/{report}" if report else None,
                }
            )
        tracker.info("generated " + ", ".join(f"{t['name']} ({t['total_rows']} rows)" for t in tables))
        return {"tables": tables}

    def deliver(self, config: SyntheticDatasetConfig, data_dir: Path, paths: dict[str, str]) -> None:
        """Write every table to the destination connector: files below a folder, or tables in a schema.

        Streamed part by part from the job's written files; the connector swaps old for new data only
        once all of it is written (if_exists="replace")."""
        from synth_dagster.connectors import create_connector

        delivery = config.delivery
        assert delivery is not None and self.tracker is not None
        cfg = load_connector_config(self.store, delivery.destination_connector_id)
        with create_connector(cfg) as connector:
            for name, relative in paths.items():
                frame = local_parts(data_dir, relative)
                if cfg.type.is_storage:
                    location = f"{delivery.location.rstrip('/')}/{table_file(name)}.parquet"
                else:
                    location = f"{delivery.location}.{name}"
                rows = connector.write_data(frame, location, if_exists=delivery.if_exists)
                self.tracker.info(f"delivered {rows} rows of {name} to {location}")


def run_job(spec: dict[str, Any]) -> None:
    """Entry point of the worker process."""
    # why: forkserver children inherit the environment of the server, not of the client; credentials
    # for the store (e.g. AWS_*) must follow the client that started the job
    os.environ.update(spec.get("env") or {})
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    store = Store(spec["store_url"], spec.get("storage_options"))
    job_class = TrainingJob if KINDS[spec["kind"]] is TRAINING else GenerationJob
    job = job_class(store, spec["record_id"], spec["job_id"])
    signal.signal(signal.SIGINT, job.interrupt)
    job.run()


def main() -> None:
    """`python -m synth_dagster.sdk.jobs.worker JOB_ID`: run the job whose spec comes on stdin."""
    spec = decode(sys.stdin.buffer.read())
    sys.stdin.close()
    run_job(spec)


if __name__ == "__main__":
    main()
