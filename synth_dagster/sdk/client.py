"""SynthClient: train generators, generate synthetic datasets and probe, against a local or shared store."""

from __future__ import annotations

import logging
import os
import tempfile
import traceback
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    ProgressStatus,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
)
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.progress import ProgressCallback
from synth_dagster.sdk import quality
from synth_dagster.sdk.progress import progress_display
from synth_dagster.sdk.records import Generator, SyntheticDataset, now
from synth_dagster.sdk.store import Store

log = logging.getLogger(__name__)


def read_table_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    text = str(path)
    if text.endswith((".parquet", ".pq")):
        return pd.read_parquet(text)
    if text.endswith((".csv", ".csv.gz", ".tsv")):
        return pd.read_csv(text, sep="\t" if text.endswith(".tsv") else ",")
    raise EngineInputError(f"cannot read {text!r}: give a DataFrame, or a .csv or .parquet file")


def _as_frame(data: Any, what: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | os.PathLike):
        return read_table_file(data)
    raise EngineInputError(
        f"{what}: expected a pandas DataFrame or a CSV/Parquet path, got {type(data).__name__}"
    )


class SynthClient:
    """The Python entry point, modelled on the reference client in LOCAL mode.

    `local_dir` is where generators and synthetic datasets live: a folder (default
    `~/.synth_dagster`) or an fsspec URL such as `s3://bucket/prefix`.
    """

    def __init__(
        self,
        local_dir: str | os.PathLike[str] | None = None,
        quiet: bool = False,
        storage_options: dict[str, Any] | None = None,
    ):
        self.store = Store(local_dir, storage_options)
        self.quiet = quiet

    def __repr__(self) -> str:
        return f"SynthClient(local_dir={self.store.url!r})"

    # -------------------------------------------------------------- training
    def train(
        self,
        config: GeneratorConfig | dict[str, Any] | None = None,
        data: pd.DataFrame | str | os.PathLike[str] | None = None,
        name: str | None = None,
        start: bool = True,
        wait: bool = True,
        progress_bar: bool = True,
    ) -> Generator:
        """Create a generator from a config (or from `data` + `name` for one table) and train it."""
        if config is None and data is None:
            raise EngineInputError("train needs either config or data")
        if config is None:
            frame = _as_frame(data, "data")
            table_name = name or "data"
            config = {"name": name, "tables": [{"name": table_name, "data": frame}]}
        config = config if isinstance(config, GeneratorConfig) else GeneratorConfig.model_validate(config)
        if name and not config.name:
            config = config.model_copy(update={"name": name})
        frames = {}
        for table in config.tables or []:
            if table.data is None:
                raise EngineInputError(
                    f"table {table.name!r} has no data; pass a DataFrame as `data` (connector sources come with connectors)"
                )
            frames[table.name] = _as_frame(table.data, f"table {table.name!r}")
        generator = self._create_generator(config)
        if start:
            self._run_training(generator, frames, progress_bar and not self.quiet)
        return generator

    def _create_generator(self, config: GeneratorConfig) -> Generator:
        gid = str(uuid.uuid4())
        record = {
            "id": gid,
            "name": config.name or f"generator-{gid[:8]}",
            "description": config.description,
            "created_at": now(),
            "training_status": ProgressStatus.NEW.value,
            "config": config.model_dump(mode="json"),
            "tables": [{"name": t.name} for t in config.tables or []],
        }
        generator = Generator(self, record)
        generator._save()
        return generator

    def _run_training(
        self,
        generator: Generator,
        frames: dict[str, pd.DataFrame],
        show: bool,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        config = generator.config()
        for table in config.tables or []:
            table.data = frames[table.name]
        generator._record["training_status"] = ProgressStatus.IN_PROGRESS.value
        generator._record["started_at"] = now()
        generator._save()
        try:
            with (
                progress_display(show, f"Training {generator.name}") as bar,
                tempfile.TemporaryDirectory() as tmp,
            ):

                def report(event):
                    bar(event)
                    if on_progress:
                        on_progress(event)

                workspace = Path(tmp) / "model"
                summaries = train_generator(config, frames, workspace, report)
                trained = TrainedGenerator(workspace)
                make_report = all(
                    (
                        t.tabular_model_configuration is None
                        or t.tabular_model_configuration.enable_model_report is not False
                    )
                    for t in config.tables or []
                )
                qa_results = quality.model_quality(
                    self.store, generator.directory, trained, frames, make_report, config.random_state
                )
                quality.save_reference_rows(self.store, generator.directory, trained, frames)
                self.store.put_dir(workspace, f"{generator.directory}/model")
        except BaseException as exc:
            generator._record["training_status"] = ProgressStatus.FAILED.value
            generator._record["error"] = f"{type(exc).__name__}: {exc}"
            generator._record["traceback"] = traceback.format_exc()
            generator._save()
            raise
        generator._record["tables"] = [
            {
                "name": name,
                "total_rows": s.rows,
                "columns": list(frames[name].columns),
                "summary": vars(s),
                "tabular_model_metrics": qa_results[name]["metrics"],
                "report": qa_results[name]["report"],
            }
            for name, s in summaries.items()
        ]
        generator._record["training_status"] = ProgressStatus.DONE.value
        generator._record["finished_at"] = now()
        generator._save()

    # ----------------------------------------------------------- generation
    def _generator(self, generator: Generator | str) -> Generator:
        if isinstance(generator, Generator):
            return generator
        return Generator(self, self.store.read_json(f"generators/{generator}/record.json"))

    def _trained(self, generator: Generator) -> TrainedGenerator:
        if generator.training_status != ProgressStatus.DONE:
            raise EngineInputError(
                f"generator {generator.id} is {generator.training_status.value}, not DONE; train it before generating"
            )
        cache = self.store.local_cache(
            "generators", generator.id, generator._record.get("finished_at", "").replace(":", "-")
        )
        return TrainedGenerator(self.store.get_dir(f"{generator.directory}/model", cache))

    @staticmethod
    def _synthetic_config(
        generator: Generator, config: Any, size: Any, seed: Any, probe: bool
    ) -> SyntheticDatasetConfig | SyntheticProbeConfig:
        model = SyntheticProbeConfig if probe else SyntheticDatasetConfig
        if config is not None:
            cfg = (
                config
                if isinstance(config, model)
                else model.model_validate(config if isinstance(config, dict) else config.model_dump())
            )
            return cfg
        tables = [t.name for t in generator.tables]
        sizes = size if isinstance(size, dict) else ({tables[0]: size} if size is not None else {})
        seeds = seed if isinstance(seed, dict) else ({tables[0]: seed} if seed is not None else {})
        if isinstance(size, bool) or (
            size is not None and not isinstance(size, dict) and (not isinstance(size, int) or size <= 0)
        ):
            raise EngineInputError(f"size must be a positive integer, got {size!r}")
        table_configs = []
        for t in tables:
            configuration: dict[str, Any] = {}
            if t in sizes:
                configuration["sample_size"] = sizes[t]
            if t in seeds:
                configuration["sample_seed_data"] = _as_frame(seeds[t], f"seed for table {t!r}")
            table_configs.append({"name": t, "configuration": configuration})
        return model.model_validate({"tables": table_configs})

    def generate(
        self,
        generator: Generator | str,
        config: SyntheticDatasetConfig | dict[str, Any] | None = None,
        size: int | dict[str, int] | None = None,
        seed: pd.DataFrame | dict[str, pd.DataFrame] | None = None,
        name: str | None = None,
        start: bool = True,
        wait: bool = True,
        progress_bar: bool = True,
    ) -> SyntheticDataset:
        generator = self._generator(generator)
        cfg = self._synthetic_config(generator, config, size, seed, probe=False)
        sid = str(uuid.uuid4())
        record = {
            "id": sid,
            "name": name or cfg.name or f"synthetic-{sid[:8]}",
            "generator_id": generator.id,
            "created_at": now(),
            "generation_status": ProgressStatus.NEW.value,
            "config": cfg.model_dump(mode="json"),
            "tables": [],
        }
        dataset = SyntheticDataset(self, record)
        dataset._save()
        if start:
            self._run_generation(dataset, generator, cfg, progress_bar and not self.quiet)
        return dataset

    def _run_generation(
        self, dataset: SyntheticDataset, generator: Generator, cfg: SyntheticDatasetConfig, show: bool
    ) -> None:
        dataset._record["generation_status"] = ProgressStatus.IN_PROGRESS.value
        dataset._save()
        try:
            with progress_display(show, f"Generating {dataset.name}") as bar:
                frames = self._trained(generator).generate(cfg, on_progress=bar)
            for table, frame in frames.items():
                self.store.write_bytes(
                    f"{dataset.directory}/data/{table}.parquet", frame.to_parquet(index=False)
                )
            enabled = {t.name: t.configuration.enable_data_report is not False for t in cfg.tables or []}
            qa_results = quality.data_quality(
                self.store,
                dataset.directory,
                generator.directory,
                {t: f for t, f in frames.items() if enabled.get(t, True)},
            )
        except BaseException as exc:
            dataset._record["generation_status"] = ProgressStatus.FAILED.value
            dataset._record["error"] = f"{type(exc).__name__}: {exc}"
            dataset._save()
            raise
        dataset._record["tables"] = [
            {
                "name": t,
                "total_rows": len(f),
                "columns": list(f.columns),
                "tabular_model_metrics": qa_results.get(t, {}).get("metrics"),
                "report": qa_results.get(t, {}).get("report"),
            }
            for t, f in frames.items()
        ]
        dataset._record["generation_status"] = ProgressStatus.DONE.value
        dataset._record["finished_at"] = now()
        dataset._save()

    def probe(
        self,
        generator: Generator | str,
        size: int | dict[str, int] | None = None,
        seed: pd.DataFrame | dict[str, pd.DataFrame] | None = None,
        config: SyntheticProbeConfig | dict[str, Any] | None = None,
        return_type: str = "auto",
    ) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """Synthetic samples in memory, synchronously."""
        generator = self._generator(generator)
        cfg = self._synthetic_config(generator, config, size, seed, probe=True)
        frames = self._trained(generator).generate(cfg, is_probe=True)
        if return_type == "auto" and len(frames) == 1:
            return next(iter(frames.values()))
        return frames
