"""SynthClient: train generators, generate synthetic datasets, probe, and manage connectors.

Modelled on the reference client in LOCAL mode. Training and generation run as jobs in background
worker processes against the store (a local folder or an fsspec URL shared by many machines);
probing runs synchronously in this process.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Literal

import pandas as pd

from synth_dagster._version import __version__
from synth_dagster.domain import (
    DEFAULT_LANGUAGE_MODEL,
    TABULAR_MODELS,
    GeneratorConfig,
    ProgressStatus,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
)
from synth_dagster.domain.connectors import ConnectorConfig
from synth_dagster.engine import TrainedGenerator
from synth_dagster.engine.device import check_device_name, resolve_device
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.sdk.connectors import Connector, Connectors
from synth_dagster.sdk.datasets import SyntheticDataset
from synth_dagster.sdk.errors import InvalidRequestError, JobStateError
from synth_dagster.sdk.frames import as_frame, read_table_file
from synth_dagster.sdk.records import Generator
from synth_dagster.sdk.resources import Generators, SyntheticDatasets
from synth_dagster.sdk.store import Store
from synth_dagster.sdk.synthetic import build_config

log = logging.getLogger(__name__)
DEFAULT_TABLE_NAME = "data"  # table name of the `train(data=...)` shorthand, as in the reference
WAIT_INTERVAL = 0.5  # seconds between polls when train()/generate() wait
MAX_CACHED_MODELS = 8  # loaded generators kept in memory for probe()

__all__ = ["SynthClient", "read_table_file"]


class SynthClient:
    """The Python entry point.

    `local_dir`: where generators, synthetic datasets and connectors live -- a folder (default
    `$SYNTH_DAGSTER_LOCAL_DIR` or `~/.synth_dagster`) or an fsspec URL such as `s3://bucket/prefix`.
    `storage_options` go to fsspec (e.g. `{"endpoint_url": ...}` for S3-compatible servers).
    `quiet=True` turns off progress bars. `device`: where jobs train and draw -- "auto" (CUDA when
    torch sees a GPU, else the CPU), "cpu", "cuda" or "cuda:N"; a GPU asked for but absent falls
    back to the CPU with a log line. A table's `compute` (a device name) wins over it.
    """

    def __init__(
        self,
        local_dir: str | os.PathLike[str] | None = None,
        quiet: bool = False,
        storage_options: dict[str, Any] | None = None,
        device: str = "auto",
    ):
        try:
            self.device = check_device_name(device)
        except EngineInputError as exc:
            raise InvalidRequestError(str(exc)) from None
        self.store = Store(local_dir, storage_options)
        self.quiet = quiet
        self.generators = Generators(self)
        self.synthetic_datasets = SyntheticDatasets(self)
        self.connectors = Connectors(self)
        self._models: dict[tuple[str, str], TrainedGenerator] = {}
        self._models_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SynthClient(local_dir={self.store.url!r}, device={self.device!r})"

    def resolved_device(self) -> str:
        """The device jobs of this client use on this machine ("cpu" where the GPU asked for is absent)."""
        return str(resolve_device(self.device))

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
        """Create a generator from `config` (or from `data` + `name` for one table) and train it.

        `wait=False` returns as soon as the job is queued; follow it with `g.training.wait()`.
        """
        if config is None and data is None:
            raise InvalidRequestError("train needs a config, or data (a DataFrame or a CSV/Parquet path)")
        if config is not None and data is not None:
            raise InvalidRequestError(
                "give either config or data, not both (put the data into the config's table)"
            )
        if config is None:
            config = {"name": name, "tables": [{"name": DEFAULT_TABLE_NAME, "data": as_frame(data, "data")}]}
        elif name:
            if isinstance(config, GeneratorConfig):
                config = config.model_copy(update={"name": name})
            else:
                config = {**config, "name": name}
        generator = self.generators.create(config)
        if start:
            generator.training.start()
            if wait:
                generator.training.wait(progress_bar=progress_bar, interval=WAIT_INTERVAL)
        return generator

    # ----------------------------------------------------------- generation
    def _generator(self, generator: Generator | str) -> Generator:
        if isinstance(generator, Generator):
            return generator
        return self.generators.get(generator)

    def generate(
        self,
        generator: Generator | str,
        config: SyntheticDatasetConfig | dict[str, Any] | None = None,
        size: int | dict[str, int] | None = None,
        seed: Any = None,
        name: str | None = None,
        start: bool = True,
        wait: bool = True,
        progress_bar: bool = True,
        chunk_rows: int | None = None,
    ) -> SyntheticDataset:
        """Create a synthetic dataset and generate it in a background job.

        `size`: rows per subject table (default: as many as the training data); `seed`: a DataFrame
        (or records) of fixed column values for conditional generation. Both fill in what `config`
        leaves open. A `delivery` in the config writes the tables to a destination connector.
        The rows are drawn and written in chunks of `chunk_rows` rows (default 250,000), so memory
        does not grow with `size`; a larger dataset is stored as one Parquet part per chunk (read it
        with `sd.data()`, `sd.iter_data()` or `sd.data_path()`). Chunk i is seeded by
        (random_state, i): the same size, seed and chunk_rows give the same rows.
        """
        g = self._generator(generator)
        self._require_done(g)
        dataset = self.synthetic_datasets._create(g, config, size, seed, name, chunk_rows)
        if start:
            dataset.generation.start()
            if wait:
                dataset.generation.wait(progress_bar=progress_bar, interval=WAIT_INTERVAL)
        return dataset

    @staticmethod
    def _require_done(generator: Generator) -> None:
        status = generator.training_status
        if status is not ProgressStatus.DONE:
            raise JobStateError(
                f"generator {generator.id} is {status.value}, not DONE; "
                + ("wait for it with g.training.wait()" if status.is_active else "train it first")
            )

    def _trained(self, generator: Generator) -> TrainedGenerator:
        self._require_done(generator)
        artifact = generator._state["artifact"]
        key = (generator.id, artifact)
        with self._models_lock:
            if key in self._models:
                self._models[key] = self._models.pop(key)  # most recently used last
            else:
                model = self.store.get_dir(
                    f"{generator.paths.artifacts(artifact)}/model",
                    self.store.local_cache("generators", generator.id, artifact),
                )
                self._models[key] = TrainedGenerator(model, self.device)
                while len(self._models) > MAX_CACHED_MODELS:
                    self._models.pop(next(iter(self._models)))
            return self._models[key]

    def probe(
        self,
        generator: Generator | str,
        size: int | dict[str, int] | None = None,
        seed: Any = None,
        config: SyntheticProbeConfig | dict[str, Any] | None = None,
        return_type: Literal["auto", "dict"] = "auto",
    ) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """Synthetic samples in memory, synchronously (one row per subject table unless size/seed say more)."""
        if return_type not in ("auto", "dict"):
            raise ValueError(f"return_type must be 'auto' or 'dict', got {return_type!r}")
        g = self._generator(generator)
        cfg = build_config(g, config, size, seed, probe=True)
        frames = self._trained(g).generate(cfg, is_probe=True)
        if return_type == "auto" and len(frames) == 1:
            return next(iter(frames.values()))
        return frames

    # ------------------------------------------------------------ connectors
    def connect(self, config: ConnectorConfig | dict[str, Any], test_connection: bool = True) -> Connector:
        """Create a connector (after checking that it can connect, unless test_connection=False)."""
        return self.connectors.create(config, test_connection=test_connection)

    # ---------------------------------------------------------------- about
    def models(self) -> dict[str, list[str]]:
        """The model names a ModelConfiguration accepts, per model type.

        LANGUAGE lists the LSTM trained from scratch (engine/language).
        """
        return {"TABULAR": list(TABULAR_MODELS.values()), "LANGUAGE": [DEFAULT_LANGUAGE_MODEL]}

    def about(self) -> dict[str, Any]:
        return {"version": __version__, "assistant": False, "local_dir": self.store.url}
