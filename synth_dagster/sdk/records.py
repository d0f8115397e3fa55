"""Generator and synthetic dataset objects as users see them (the reference client's shapes)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from synth_dagster.domain import GeneratorConfig, ModelMetrics, ProgressStatus, SyntheticDatasetConfig

if TYPE_CHECKING:
    from synth_dagster.sdk.client import SynthClient


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class TableView:
    """One table of a generator or synthetic dataset, with its metrics."""

    def __init__(self, data: dict[str, Any]):
        self._data = data
        self.name: str = data["name"]
        self.total_rows: int | None = data.get("total_rows")
        self.columns: list[str] = data.get("columns", [])
        self.tabular_model_metrics: ModelMetrics | None = (
            ModelMetrics.model_validate(data["tabular_model_metrics"])
            if data.get("tabular_model_metrics")
            else None
        )

    def __repr__(self) -> str:
        return f"Table(name={self.name!r}, total_rows={self.total_rows})"


class _Record:
    kind = ""
    folder = ""

    def __init__(self, client: SynthClient, record: dict[str, Any]):
        self.client = client
        self._record = record

    @property
    def id(self) -> str:
        return self._record["id"]

    @property
    def name(self) -> str | None:
        return self._record.get("name")

    @property
    def description(self) -> str | None:
        return self._record.get("description")

    @property
    def directory(self) -> str:
        return f"{self.folder}/{self.id}"

    def reload(self) -> None:
        self._record = self.client.store.read_json(f"{self.directory}/record.json")

    def _save(self) -> None:
        self.client.store.write_json(f"{self.directory}/record.json", self._record)

    def update(self, name: str | None = None, description: str | None = None) -> None:
        if name is not None:
            self._record["name"] = name
        if description is not None:
            self._record["description"] = description
        self._save()

    def delete(self) -> None:
        self.client.store.delete(self.directory)

    @property
    def tables(self) -> list[TableView]:
        return [TableView(t) for t in self._record.get("tables", [])]

    @property
    def accuracy(self) -> float | None:
        tables = self.tables
        if (
            not tables
            or tables[0].tabular_model_metrics is None
            or tables[0].tabular_model_metrics.accuracy is None
        ):
            return None
        return tables[0].tabular_model_metrics.accuracy.overall

    def report_paths(self) -> list[str]:
        return [t["report"] for t in self._record.get("tables", []) if t.get("report")]

    def reports(self, file_path: str | Path | None = None, display: bool = False) -> Path | None:
        """A ZIP of the HTML reports (written to file_path or the working folder), or inline display."""
        paths = self.report_paths()
        if display:
            from IPython.display import HTML  # notebooks only
            from IPython.display import display as show

            for p in paths:
                with self.client.store.fs.open(self.client.store.path(p), "rb") as fh:
                    show(HTML(fh.read().decode()))
            return None
        target = Path(file_path) if file_path else Path.cwd() / f"{self.kind}-{self.id[:8]}-reports.zip"
        if target.is_dir():
            target = target / f"{self.kind}-{self.id[:8]}-reports.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for p in paths:
                with self.client.store.fs.open(self.client.store.path(p), "rb") as fh:
                    archive.writestr(Path(p).name, fh.read())
        target.write_bytes(buffer.getvalue())
        return target


class Generator(_Record):
    kind = "generator"
    folder = "generators"

    @property
    def training_status(self) -> ProgressStatus:
        return ProgressStatus(self._record["training_status"])

    def config(self) -> GeneratorConfig:
        return GeneratorConfig.model_validate(self._record["config"])

    def __repr__(self) -> str:
        return f"Generator(id={self.id!r}, name={self.name!r}, training_status={self.training_status.value})"


class SyntheticDataset(_Record):
    kind = "synthetic-dataset"
    folder = "synthetic-datasets"

    @property
    def generation_status(self) -> ProgressStatus:
        return ProgressStatus(self._record["generation_status"])

    @property
    def generator_id(self) -> str:
        return self._record["generator_id"]

    def config(self) -> SyntheticDatasetConfig:
        return SyntheticDatasetConfig.model_validate(self._record["config"])

    def data(self, return_type: str = "auto") -> pd.DataFrame | dict[str, pd.DataFrame]:
        """The synthetic tables: one DataFrame for a single table (auto), else a dict of them."""
        frames = {}
        for t in self._record.get("tables", []):
            with self.client.store.fs.open(
                self.client.store.path(f"{self.directory}/data/{t['name']}.parquet"), "rb"
            ) as fh:
                frames[t["name"]] = pd.read_parquet(io.BytesIO(fh.read()))
        if return_type == "auto" and len(frames) == 1:
            return next(iter(frames.values()))
        return frames

    def __repr__(self) -> str:
        return f"SyntheticDataset(id={self.id!r}, name={self.name!r}, generation_status={self.generation_status.value})"
