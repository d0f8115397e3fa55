"""Metrics and HTML reports for trained generators and synthetic datasets (calls synth_dagster.qa)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd

from synth_dagster.domain import ModelMetrics, SyntheticDatasetConfig
from synth_dagster.engine import TrainedGenerator
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)
MAX_QA_SYNTHETIC_ROWS = 20_000
MAX_REFERENCE_ROWS = 50_000


def split_training(frame: pd.DataFrame, holdout_index) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout_mask = frame.index.isin(holdout_index)
    return frame[~holdout_mask], frame[holdout_mask]


def model_quality(
    store: Store,
    record_dir: str,
    trained: TrainedGenerator,
    frames: dict[str, pd.DataFrame],
    make_report: bool,
    random_state: int | None,
) -> dict[str, dict]:
    """Per table: metrics of a synthetic sample against training and holdout rows, and the model report."""
    from synth_dagster import qa

    results: dict[str, dict] = {}
    for name, frame in frames.items():
        train_rows, holdout_rows = split_training(frame, trained.holdout_index(name))
        size = (
            int(min(max(len(holdout_rows), 1) * 1, MAX_QA_SYNTHETIC_ROWS))
            if len(holdout_rows)
            else min(len(frame), MAX_QA_SYNTHETIC_ROWS)
        )
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
        report_path = None
        if make_report:
            with tempfile.TemporaryDirectory() as tmp:
                local = Path(tmp) / f"{name}.html"
                qa.model_report(evaluation, local, title=f"Model report: {name}")
                report_path = f"{record_dir}/reports/{name}-model-report.html"
                store.write_bytes(report_path, local.read_bytes())
        results[name] = {"metrics": evaluation.metrics.model_dump(mode="json"), "report": report_path}
    return results


def save_reference_rows(
    store: Store, generator_dir: str, trained: TrainedGenerator, frames: dict[str, pd.DataFrame]
) -> None:
    """Keep a capped sample of training and holdout rows beside the generator for later data reports.

    They live in the private `qa/` folder of the generator, which exports never include.
    """
    for name, frame in frames.items():
        train_rows, holdout_rows = split_training(frame, trained.holdout_index(name))
        for kind, rows in (("training", train_rows), ("holdout", holdout_rows)):
            rows = rows.sample(min(len(rows), MAX_REFERENCE_ROWS), random_state=0) if len(rows) else rows
            store.write_bytes(
                f"{generator_dir}/qa/{name}-{kind}.parquet", rows.reset_index(drop=True).to_parquet()
            )


def load_reference_rows(
    store: Store, generator_dir: str, name: str
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    import io

    try:
        frames = []
        for kind in ("training", "holdout"):
            with store.fs.open(store.path(f"{generator_dir}/qa/{name}-{kind}.parquet"), "rb") as fh:
                frames.append(pd.read_parquet(io.BytesIO(fh.read())))
    except FileNotFoundError:
        return None
    return frames[0], frames[1]


def data_quality(
    store: Store, record_dir: str, generator_dir: str, frames: dict[str, pd.DataFrame]
) -> dict[str, dict]:
    """Per table: a synthetic dataset's metrics against the generator's reference rows, and the data report."""
    from synth_dagster import qa

    results: dict[str, dict] = {}
    for name, synthetic in frames.items():
        reference = load_reference_rows(store, generator_dir, name)
        if reference is None:
            log.warning("no reference rows for table %s; skipping its data report", name)
            continue
        train_rows, holdout_rows = reference
        evaluation = qa.assess(synthetic, train_rows, holdout_rows if len(holdout_rows) else None)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / f"{name}.html"
            qa.data_report(evaluation, local, title=f"Data report: {name}")
            path = f"{record_dir}/reports/{name}-data-report.html"
            store.write_bytes(path, local.read_bytes())
        results[name] = {"metrics": evaluation.metrics.model_dump(mode="json"), "report": path}
    return results


def metrics_or_none(data: dict | None) -> ModelMetrics | None:
    return ModelMetrics.model_validate(data) if data else None
