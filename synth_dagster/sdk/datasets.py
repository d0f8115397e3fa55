"""`SyntheticDataset`: synthetic tables drawn from a generator, with their data reports."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from synth_dagster.domain import ProgressStatus, SyntheticDatasetConfig, SyntheticDatasetDelivery
from synth_dagster.domain.names import path_component
from synth_dagster.sdk.errors import JobStateError
from synth_dagster.sdk.frames import read_frame, save_path
from synth_dagster.sdk.jobs.lifecycle import JobHandle
from synth_dagster.sdk.jobs.state import ACTIVE, GENERATION, TERMINAL, TRAINING, table_file
from synth_dagster.sdk.jobs.tracker import generation_steps
from synth_dagster.sdk.records import Generator, _Record, load_record


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
        generator = Generator(self.store, *load_record(self.store, TRAINING, self.generator_id))
        if generator.training_status is not ProgressStatus.DONE:
            raise JobStateError(
                f"generator {generator.id} is {generator.training_status.value}, not DONE; "
                "train it (g.training.start(); g.training.wait()) before generating"
            )

    def _planned_steps(self) -> list[Any]:
        return generation_steps(self.config(), self._meta.get("generator_tables") or [])

    def _frames(self) -> dict[str, pd.DataFrame]:
        self._frames_ready()
        return {t["name"]: self._read(t) for t in self._state.get("tables") or []}

    def _frames_ready(self) -> None:
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

    def _table(self, table: str | None) -> dict[str, Any]:
        self._frames_ready()
        tables = {t["name"]: t for t in self._state.get("tables") or []}
        if table is None and len(tables) == 1:
            return next(iter(tables.values()))
        if table not in tables:
            raise ValueError(f"name one of the tables {sorted(tables)}, got {table!r}")
        return tables[table]

    def _part_files(self, entry: dict[str, Any]) -> list[str]:
        if not entry.get("parts"):
            return [entry["data"]]
        return [f"{entry['data']}/{name}" for name in self.store.list_dir(entry["data"])]

    def _read(self, entry: dict[str, Any]) -> pd.DataFrame:
        frames = [read_frame(self.store, part) for part in self._part_files(entry)]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def iter_data(self, table: str | None = None) -> Iterator[pd.DataFrame]:
        """A table's rows part by part (one part per generation chunk), for datasets too large to load."""
        for part in self._part_files(self._table(table)):
            yield read_frame(self.store, part)

    def data_path(self, table: str | None = None) -> str:
        """Where a table's data lies in the store: one Parquet file, or a folder of parts (a Parquet
        dataset that pyarrow, DuckDB, Spark or Polars read as one table)."""
        return self.store.path(self._table(table)["data"])

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
            target = save_path(file_path, f"{base}.{format}")
            target.write_bytes(encode(next(iter(frames.values()))))
            return target
        target = save_path(file_path, f"{base}.zip")
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
