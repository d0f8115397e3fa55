"""`client.generators` and `client.synthetic_datasets`: create, get, list, import and clone records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pandas as pd

from synth_dagster.domain import GeneratorConfig, SyntheticDatasetConfig
from synth_dagster.domain.errors import parse
from synth_dagster.engine.inputs import check_training_frame
from synth_dagster.engine.relations import check_primary_key
from synth_dagster.sdk.capabilities import refuse_unsupported_generator
from synth_dagster.sdk.datasets import SyntheticDataset
from synth_dagster.sdk.errors import InvalidRequestError
from synth_dagster.sdk.frames import as_frame, write_frame
from synth_dagster.sdk.jobs.state import (
    GENERATION,
    SEED_PREFIX,
    TRAINING,
    JobKind,
    Paths,
    new_state,
    now,
    read_state,
    write_state,
)
from synth_dagster.sdk.listing import Filter, page, parse_statuses
from synth_dagster.sdk.records import Generator, _Record, load_record
from synth_dagster.sdk.store import Store
from synth_dagster.sdk.synthetic import build_config
from synth_dagster.sdk.transfer import import_generator

if TYPE_CHECKING:
    from synth_dagster.sdk.client import SynthClient

R = TypeVar("R", bound=_Record)


def _records(store: Store, kind: JobKind, filt: Filter) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, state) of every complete record of a kind that passes the filter, newest first."""
    out = []
    for rid in store.list_dir(kind.folder):
        paths = Paths(kind, rid)
        record = store.read_json_or_none(paths.record)
        if record is None:  # being created, being deleted, or a leftover: not a record (yet)
            continue
        state = read_state(store, paths)
        if filt.matches(record, state["status"]):
            out.append((record, state))
    out.sort(key=lambda rs: rs[0].get("created_at") or "", reverse=True)
    return out


class _Collection(Generic[R]):
    """The records of one kind in the client's store: what `get` and `list` share."""

    view: type[R]

    def __init__(self, client: SynthClient):
        self.client = client

    def _view(self, record: dict[str, Any], state: dict[str, Any]) -> R:
        return self.view(self.client.store, record, state, self.client.quiet)

    def _get(self, record_id: str) -> R:
        return self._view(*load_record(self.client.store, self.view.kind, record_id))

    def list(
        self,
        offset: int = 0,
        limit: int | None = None,
        status: str | Iterable[str] | None = None,
        search_term: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> Iterator[R]:
        """Newest first; `status` filters on the status of their job (training for generators,
        generation for synthetic datasets), `search_term` on name/description, `created_from` /
        `created_to` (YYYY-MM-DD) on the creation date."""
        filt = Filter(search_term, created_from, created_to, parse_statuses(status))
        items = _records(self.client.store, self.view.kind, filt)
        return page((self._view(r, s) for r, s in items), offset, limit)


def _with_frames(config: Any) -> Any:
    """Read `data` given as a CSV / Parquet path inside a config dict (SourceTableConfig takes frames only)."""
    if not isinstance(config, dict):
        return config
    tables = []
    for table in config.get("tables") or []:
        if isinstance(table, dict) and isinstance(table.get("data"), str | os.PathLike | list):
            table = {**table, "data": as_frame(table["data"], f"table {table.get('name')!r}")}
        tables.append(table)
    return {**config, "tables": tables} if "tables" in config else config


class Generators(_Collection[Generator]):
    view = Generator

    def create(self, config: GeneratorConfig | dict[str, Any]) -> Generator:
        """A NEW generator; DataFrame tables are kept privately in the store until its training has run."""
        cfg = (
            config
            if isinstance(config, GeneratorConfig)
            else parse(GeneratorConfig, _with_frames(config), "generator config")
        )
        if not cfg.tables:
            raise InvalidRequestError("the generator config has no tables; add at least one table with data")
        refuse_unsupported_generator(cfg)
        frames: dict[str, pd.DataFrame] = {}
        for table in cfg.tables:
            if table.data is not None:
                check_training_frame(table.name, table.data, table.key_columns)
                check_primary_key(table, table.data)
                frames[table.name] = table.data
            elif not (table.source_connector_id and table.location):
                raise InvalidRequestError(
                    f"table {table.name!r} has no data: give a DataFrame as `data`, or a connector "
                    "with `source_connector_id` and `location`"
                )
        gid = str(uuid.uuid4())
        paths = Paths(TRAINING, gid)
        store = self.client.store
        for name, frame in frames.items():
            write_frame(store, paths.input_file(name), frame, f"table {name!r}")
        state = new_state()
        write_state(store, paths, state)
        record = {
            "device": self.client.device,
            "id": gid,
            "name": cfg.name or f"generator-{gid[:8]}",
            "description": cfg.description,
            "created_at": now(),
            "config": cfg.model_dump(mode="json"),
            "tables": [{"name": t.name, "columns": t.column_names or []} for t in cfg.tables],
        }
        store.write_json(paths.record, record)  # last: a listed generator is complete
        return self._view(record, state)

    def get(self, generator_id: str) -> Generator:
        return self._get(generator_id)

    def import_from_file(self, file_path: str | os.PathLike[str]) -> Generator:
        """Import a generator exported with `export_to_file()`, from a local path or a URL."""
        return self._view(*import_generator(self.client.store, file_path))


class SyntheticDatasets(_Collection[SyntheticDataset]):
    view = SyntheticDataset

    def create(self, config: SyntheticDatasetConfig | dict[str, Any]) -> SyntheticDataset:
        """A NEW synthetic dataset of `config.generator_id`; start it with `sd.generation.start()`."""
        generator_id = (
            config.generator_id
            if isinstance(config, SyntheticDatasetConfig)
            else (config or {}).get("generator_id")
        )
        if not generator_id:
            raise InvalidRequestError(
                "the synthetic dataset config needs generator_id (or use client.generate(generator, ...))"
            )
        generator = self.client.generators.get(generator_id)
        return self._create(generator, config, None, None, None)

    def _create(
        self,
        generator: Generator,
        config: Any,
        size: Any,
        seed: Any,
        name: str | None,
        chunk_rows: int | None = None,
    ) -> SyntheticDataset:
        if chunk_rows is not None and (
            isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1
        ):
            raise InvalidRequestError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
        cfg = build_config(generator, config, size, seed, probe=False)
        assert isinstance(cfg, SyntheticDatasetConfig)
        sid = str(uuid.uuid4())
        paths = Paths(GENERATION, sid)
        store = self.client.store
        for table in cfg.tables or []:
            seed_frame = table.configuration.sample_seed_data
            if seed_frame is not None:
                write_frame(
                    store, paths.input_file(table.name, SEED_PREFIX), seed_frame, f"seed of {table.name!r}"
                )
        state = new_state()
        write_state(store, paths, state)
        cfg.generator_id = generator.id
        record = {
            "device": cfg.compute or self.client.device,  # compute is a device name (capabilities.py)
            "id": sid,
            "name": name or cfg.name or f"{generator.name or 'synthetic'} - synthetic {sid[:8]}",
            "description": cfg.description,
            "generator_id": generator.id,
            "generator_tables": [t.name for t in generator.tables],
            "created_at": now(),
            "config": cfg.model_dump(mode="json"),
            "tables": [{"name": t.name} for t in generator.tables],
        }
        if chunk_rows is not None:  # part of what the rows are: chunk i is seeded by (random_state, i)
            record["chunk_rows"] = chunk_rows
        store.write_json(paths.record, record)
        return self._view(record, state)

    def get(self, synthetic_dataset_id: str) -> SyntheticDataset:
        return self._get(synthetic_dataset_id)
