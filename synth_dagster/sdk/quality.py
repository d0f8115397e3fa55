"""Metrics and HTML reports for trained generators and synthetic datasets (calls synth_dagster.qa).

Everything is computed into a local folder first; the worker uploads it and publishes it with the
job's status, so a failed or canceled job never leaves a half-written report behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from synth_dagster.domain import ModelMetrics, SyntheticDatasetConfig
from synth_dagster.engine import TrainedGenerator
from synth_dagster.sdk.frames import parquet_bytes, read_frame
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)
MAX_QA_SYNTHETIC_ROWS = 20_000
MAX_REFERENCE_ROWS = 50_000
REFERENCE_KINDS = ("training", "holdout")


def _no_check() -> None:
    return None


def split_training(frame: pd.DataFrame, holdout_index) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout_mask = frame.index.isin(holdout_index)
    return frame[~holdout_mask], frame[holdout_mask]


def model_quality(
    trained: TrainedGenerator,
    frames: dict[str, pd.DataFrame],
    report_tables: set[str],
    random_state: int | None,
    out_dir: Path,
    check: Callable[[], None] = _no_check,
) -> dict[str, dict]:
    """Per table: metrics of a synthetic sample against training and holdout rows.

    The model report of each table in `report_tables` is written to `out_dir/<table>-model-report.html`.
    `check` is called between tables (it raises to cancel).
    """
    from synth_dagster import qa

    results: dict[str, dict] = {}
    for name, frame in frames.items():
        check()
        train_rows, holdout_rows = split_training(frame, trained.holdout_index(name))
        size = min(len(holdout_rows) or len(frame), MAX_QA_SYNTHETIC_ROWS)
        probe = SyntheticDatasetConfig.model_validate(
            {
                "random_state": random_state,
                "tables": [{"name": name, "configuration": {"sample_size": max(size, 1)}}],
            }
        )
        synthetic = trained.generate(probe)[name]
        evaluation = qa.assess(
            synthetic, train_rows, holdout_rows if len(holdout_rows) else None, random_state=random_state or 0
        )
        report = None
        if name in report_tables:
            check()
            out_dir.mkdir(parents=True, exist_ok=True)
            report = f"{name}-model-report.html"
            qa.model_report(evaluation, out_dir / report, title=f"Model report: {name}")
        results[name] = {"metrics": evaluation.metrics.model_dump(mode="json"), "report": report}
    return results


def reference_rows(trained: TrainedGenerator, frames: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """A capped sample of training and holdout rows, kept for the data reports of synthetic datasets.

    They are stored in the private `qa/` folder of a generator, which exports never include.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        train_rows, holdout_rows = split_training(frame, trained.holdout_index(name))
        for kind, rows in zip(REFERENCE_KINDS, (train_rows, holdout_rows), strict=True):
            rows = rows.sample(min(len(rows), MAX_REFERENCE_ROWS), random_state=0) if len(rows) else rows
            (out_dir / f"{name}-{kind}.parquet").write_bytes(parquet_bytes(rows, f"table {name!r}"))


def load_reference_rows(store: Store, qa_dir: str, name: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    try:
        training, holdout = (read_frame(store, f"{qa_dir}/{name}-{kind}.parquet") for kind in REFERENCE_KINDS)
    except FileNotFoundError:
        return None
    return training, holdout


def data_quality(
    store: Store,
    qa_dir: str | None,
    frames: dict[str, pd.DataFrame],
    out_dir: Path,
    check: Callable[[], None] = _no_check,
) -> dict[str, dict]:
    """Per table: a synthetic dataset's metrics against the generator's reference rows, and the data report.

    Tables without reference rows (e.g. of an imported generator) get neither.
    """
    from synth_dagster import qa

    results: dict[str, dict] = {}
    for name, synthetic in frames.items():
        check()
        reference = load_reference_rows(store, qa_dir, name) if qa_dir else None
        if reference is None:
            log.info("no reference rows for table %s (imported generator?); skipping its data report", name)
            continue
        train_rows, holdout_rows = reference
        evaluation = qa.assess(synthetic, train_rows, holdout_rows if len(holdout_rows) else None)
        out_dir.mkdir(parents=True, exist_ok=True)
        report = f"{name}-data-report.html"
        qa.data_report(evaluation, out_dir / report, title=f"Data report: {name}")
        results[name] = {"metrics": evaluation.metrics.model_dump(mode="json"), "report": report}
    return results


def metrics_or_none(data: dict | None) -> ModelMetrics | None:
    return ModelMetrics.model_validate(data) if data else None
