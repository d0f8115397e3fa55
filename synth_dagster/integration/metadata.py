"""Dagster metadata for generators, synthetic tables and reports (figures come from the sdk records)."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from synth_dagster.domain import ModelMetrics
from synth_dagster.integration.connectors import table_metadata
from synth_dagster.sdk import Generator, SynthClient

__all__ = [
    "generator_metadata",
    "report_locations",
    "report_metadata",
    "synthetic_table_metadata",
    "table_figures",
]

# the metadata keys tests, docs and the UI test read
ACCURACY = "accuracy"
ACCURACY_MAX = "accuracy_holdout_reference"
DCR_SHARE = "dcr_share"
QUALITY_WARNING = "quality_warning"
GENERATOR_ID = "generator_id"
CHECKS_PASSED = "synth_dagster/blocking_checks_passed"


def report_locations(client: SynthClient, relative: str) -> tuple[str, str]:
    """(path, URL) of a file in the store: a local path and file:// URL, or the object's URL."""
    store = client.store
    if store.is_local:
        path = store.path(relative)
        return path, Path(path).as_uri()
    url = posixpath.join(store.url.rstrip("/"), relative)
    return url, url


def table_figures(generator: Generator) -> list[dict[str, Any]]:
    """Per table: name, summary (rows, columns, epochs, seconds, model size, ...), metrics, report."""
    figures = []
    for view in generator.tables:
        figures.append(
            {
                "name": view.name,
                "summary": dict(view.summary),
                "metrics": view.tabular_model_metrics,
                "report": view.report,
            }
        )
    return figures


def _f(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _epsilon_text(summary: dict[str, Any]) -> str:
    """ε spent and δ of a table trained with differential privacy, "off" without it."""
    if summary.get("epsilon") is None:
        return "off"
    return f"{float(summary['epsilon']):.2f} ({float(summary['delta']):g})"


def _markdown(generator: Generator, figures: list[dict[str, Any]]) -> str:
    lines = [
        f"**Generator** `{generator.name}` (`{generator.id}`)",
        "",
        "| table | rows | columns | epochs | training s | accuracy | holdout ref. | DCR share "
        "| identical (trn / ref) | model size | stopped by | ε (δ) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in figures:
        s, m = t["summary"], t["metrics"]
        acc = m.accuracy if m and m.accuracy else None
        dist = m.distances if m and m.distances else None
        size = s.get("model_size_bytes")
        lines.append(
            f"| {t['name']} | {s.get('rows', '–')} | {s.get('columns', '–')} | {_f(s.get('epochs'), 1)} "
            f"| {_f(s.get('seconds'), 1)} | {_f(acc.overall if acc else None)} "
            f"| {_f(acc.overall_max if acc else None)} | {_f(dist.dcr_share if dist else None)} "
            f"| {_f(dist.ims_training if dist else None)} / {_f(dist.ims_trn_hol if dist else None)} "
            f"| {'–' if size is None else f'{size / 1e6:.1f} MB'} | {s.get('stop_reason', '–')} "
            f"| {_epsilon_text(s)} |"
        )
    return "\n".join(lines)


def _r(value: float) -> dg.MetadataValue:
    return dg.MetadataValue.float(round(float(value), 4))  # 4 decimals: what a reader compares


def _metric_entries(prefix: str, metrics: ModelMetrics | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if metrics is None:
        return out
    acc, dist = metrics.accuracy, metrics.distances
    if acc and acc.overall is not None:
        out[f"{prefix}{ACCURACY}"] = _r(acc.overall)
    if acc and acc.overall_max is not None:
        out[f"{prefix}{ACCURACY_MAX}"] = _r(acc.overall_max)
    if dist and dist.dcr_share is not None:
        out[f"{prefix}{DCR_SHARE}"] = _r(dist.dcr_share)
    if dist and dist.dcr_share_low is not None and dist.dcr_share_high is not None:
        interval = f"[{dist.dcr_share_low:.4f}, {dist.dcr_share_high:.4f}]"
        out[f"{prefix}dcr_share_interval_95"] = dg.MetadataValue.text(interval)
    if metrics.warnings:
        out[f"{prefix}{QUALITY_WARNING}"] = dg.MetadataValue.text("; ".join(metrics.warnings))
    if dist and dist.ims_training is not None:
        out[f"{prefix}ims_training"] = _r(dist.ims_training)
    if dist and dist.ims_trn_hol is not None:
        out[f"{prefix}ims_trn_hol"] = _r(dist.ims_trn_hol)
    return out


def generator_metadata(client: SynthClient, generator: Generator, checks_passed: bool) -> dict[str, Any]:
    """Metadata of a generator materialization.

    The first table's figures are also given without a prefix (the generator's headline figures,
    as `Generator.accuracy`); with several tables each one's figures carry a `<table>/` prefix.
    """
    figures = table_figures(generator)
    several = len(figures) > 1
    # insertion order is the UI's order: headline figures first, identifiers last
    out: dict[str, Any] = {}
    if figures:
        out.update(_metric_entries("", figures[0]["metrics"]))
    total_seconds = sum(float(t["summary"].get("seconds") or 0.0) for t in figures)
    total_size = sum(int(t["summary"].get("model_size_bytes") or 0) for t in figures)
    out["training_seconds"] = dg.MetadataValue.float(round(total_seconds, 2))
    out["model_size_bytes"] = dg.MetadataValue.int(total_size)
    for t in figures:
        prefix = f"{t['name']}/" if several else ""
        s = t["summary"]
        if several:
            out.update(_metric_entries(prefix, t["metrics"]))
        if s.get("epochs") is not None:
            out[f"{prefix}epochs"] = dg.MetadataValue.float(round(float(s["epochs"]), 2))
        for key in ("rows", "columns", "training_rows", "holdout_rows"):
            if s.get(key) is not None:
                out[f"{prefix}{key}"] = dg.MetadataValue.int(int(s[key]))
        if s.get("stop_reason"):
            out[f"{prefix}stop_reason"] = dg.MetadataValue.text(str(s["stop_reason"]))
        language = s.get("language") or {}
        for key in ("epochs", "seconds", "best_val_loss"):  # the language model's figures
            if language.get(key) is not None:
                out[f"{prefix}language_{key}"] = dg.MetadataValue.float(float(language[key]))
        if s.get("epsilon") is not None:  # differential privacy: ε spent at δ
            out[f"{prefix}dp_epsilon"] = dg.MetadataValue.float(round(float(s["epsilon"]), 4))
            out[f"{prefix}dp_delta"] = dg.MetadataValue.float(float(s["delta"]))
        if t["report"]:
            path, url = report_locations(client, t["report"])
            out[f"{prefix}model_report"] = dg.MetadataValue.path(path)
            out[f"{prefix}model_report_url"] = dg.MetadataValue.url(url)
    out[GENERATOR_ID] = dg.MetadataValue.text(generator.id)
    out["generator_name"] = dg.MetadataValue.text(generator.name or "")
    out["store"] = dg.MetadataValue.text(client.store.url)
    out[CHECKS_PASSED] = dg.MetadataValue.bool(checks_passed)
    out["summary"] = dg.MetadataValue.md(_markdown(generator, figures))
    return out


def report_metadata(client: SynthClient, reports: dict[str, str | None], kind: str) -> dict[str, Any]:
    """Paths and URLs of per-table HTML reports; the first one also as `path` / `url`."""
    out: dict[str, Any] = {}
    available = {t: r for t, r in reports.items() if r}
    for i, (table, relative) in enumerate(available.items()):
        path, url = report_locations(client, relative)
        if i == 0:
            out["path"] = dg.MetadataValue.path(path)
            out["url"] = dg.MetadataValue.url(url)
        out[f"{table}/path"] = dg.MetadataValue.path(path)
        out[f"{table}/url"] = dg.MetadataValue.url(url)
    out["reports"] = dg.MetadataValue.int(len(available))
    out["kind"] = dg.MetadataValue.text(kind)
    return out


def synthetic_table_metadata(
    frame: pd.DataFrame,
    dataset_id: str,
    generator_id: str,
    metrics: ModelMetrics | None,
    location: str | None = None,
) -> dict[str, Any]:
    """`dagster/row_count`, `dagster/column_schema`, ids and the data report's headline figures."""
    out: dict[str, Any] = {
        **table_metadata(frame),
        "synthetic_dataset_id": dg.MetadataValue.text(dataset_id),
        GENERATOR_ID: dg.MetadataValue.text(generator_id),
        **_metric_entries("", metrics),
    }
    if location:
        out["dagster/table_name"] = dg.MetadataValue.text(location)
        out["location"] = dg.MetadataValue.text(location)
    return out
