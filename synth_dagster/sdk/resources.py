"""`client.generators` and `client.synthetic_datasets`: create, get, list, import and clone records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from synth_dagster.domain import GeneratorConfig, ProgressStatus, SyntheticDatasetConfig
from synth_dagster.domain.errors import parse
from synth_dagster.engine.inputs import check_training_frame
from synth_dagster.engine.relations import check_primary_key
from synth_dagster.sdk import launcher
from synth_dagster.sdk.capabilities import refuse_unsupported_generator
from synth_dagster.sdk.errors import InvalidRequestError, JobStateError, NotFoundError
from synth_dagster.sdk.frames import as_frame, write_frame
from synth_dagster.sdk.jobs import (
    GENERATION,
    SEED_PREFIX,
    TRAINING,
    JobKind,
    Paths,
    new_state,
    now,
    read_state,
    table_file,
    write_state,
)
from synth_dagster.sdk.listing import Filter, page, parse_statuses
from synth_dagster.sdk.records import Generator, SyntheticDataset

if TYPE_CHECKING:
    from synth_dagster.sdk.client import SynthClient


def _records(client: SynthClient, kind: JobKind, filt: Filter) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, state) of every complete record of a kind that passes the filter, newest first."""
    store = client.store
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


def _get(client: SynthClient, kind: JobKind, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(record_id, str) or not record_id:
        raise InvalidRequestError(f"a {kind.noun} id must be a non-empty string, got {record_id!r}")
    paths = Paths(kind, record_id)
    record = client.store.read_json_or_none(paths.record)
    if record is None:
        raise NotFoundError(
            f"no {kind.noun} with id {record_id!r} in {client.store.url}; list them with "
            f"client.{kind.folder.replace('-', '_')}.list()"
        )
    return record, read_state(client.store, paths)


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


class Generators:
    def __init__(self, client: SynthClient):
        self.client = client

    def create(self, config: GeneratorConfig | dict[str, Any]) -> Generator:
        """A NEW generator; DataFrame tables are kept privately in the store until its training has run."""
        launcher.ensure_not_bootstrapping()
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
            "id": gid,
            "name": cfg.name or f"generator-{gid[:8]}",
            "description": cfg.description,
            "created_at": now(),
            "config": cfg.model_dump(mode="json"),
            "tables": [{"name": t.name, "columns": t.column_names or []} for t in cfg.tables],
        }
        store.write_json(paths.record, record)  # last: a listed generator is complete
        return Generator(self.client, record, state)

    def get(self, generator_id: str) -> Generator:
        record, state = _get(self.client, TRAINING, generator_id)
        return Generator(self.client, record, state)

    def list(
        self,
        offset: int = 0,
        limit: int | None = None,
        status: str | Iterable[str] | None = None,
        search_term: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> Iterator[Generator]:
        """Generators, newest first; `status` filters on training status, `search_term` on name/description."""
        filt = Filter(search_term, created_from, created_to, parse_statuses(status))
        items = _records(self.client, TRAINING, filt)
        return page((Generator(self.client, r, s) for r, s in items), offset, limit)

    def import_from_file(self, file_path: str | os.PathLike[str]) -> Generator:
        """Import a generator exported with `export_to_file()`, from a local path or a URL."""
        from synth_dagster.sdk.transfer import import_generator

        return import_generator(self.client, file_path)

    def _clone_inputs(self, source: Generator, data: Any) -> dict[str, pd.DataFrame]:
        """The frames a clone trains on: for every DataFrame table the source no longer holds (they are
        deleted after training), one given in `data` (a DataFrame for one such table, or {table: df})."""
        store = self.client.store
        held = set(store.list_dir(source.paths.input_dir))
        needed = [
            t
            for t in source.config().tables or []
            if not t.source_connector_id and f"{table_file(t.name)}.parquet" not in held
        ]
        names = [t.name for t in needed]
        if data is not None and not isinstance(data, dict):
            if len(names) != 1:
                raise InvalidRequestError(
                    f"clone(data=...): give a dict {{table: DataFrame}} for the tables {names}"
                )
            data = {names[0]: data}
        data = dict(data or {})
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise InvalidRequestError(
                f"clone(data=...) names tables {unknown} that need no data (they read from a connector, or "
                f"the generator still holds their rows); tables that need data: {names}"
            )
        missing = [n for n in names if n not in data]
        if missing:
            example = (
                "data=df" if len(names) == 1 else "data={" + ", ".join(f"{n!r}: df" for n in names) + "}"
            )
            raise InvalidRequestError(
                f"generator {source.id} was trained on DataFrames for tables {missing}, and rows given as "
                f"DataFrames are not kept after training; pass them again: g.clone(..., {example})"
            )
        frames = {}
        for table in needed:
            frame = as_frame(data[table.name], f"clone(data=...) for table {table.name!r}")
            check_training_frame(table.name, frame, table.key_columns)
            expected = table.column_names
            if expected is not None and sorted(map(str, frame.columns)) != sorted(expected):
                raise InvalidRequestError(
                    f"clone(data=...): table {table.name!r} has columns {list(frame.columns)}, but the "
                    f"generator was trained on {expected}; give the same columns"
                )
            frames[table.name] = frame
        return frames

    def _clone(self, source: Generator, training_status: str, data: Any = None) -> Generator:
        mode = str(training_status).lower()
        if mode not in ("new", "continue"):
            raise InvalidRequestError(f"training_status must be 'new' or 'continue', got {training_status!r}")
        store = self.client.store
        source._refresh()
        if mode == "continue" and source.training_status is not ProgressStatus.DONE:
            raise JobStateError(
                f"generator {source.id} is {source.training_status.value}; clone('continue') needs a DONE "
                "generator (use clone('new') otherwise)"
            )
        frames = self._clone_inputs(source, data)
        gid = str(uuid.uuid4())
        paths = Paths(TRAINING, gid)
        for name, frame in frames.items():
            write_frame(store, paths.input_file(name), frame, f"table {name!r}")
        # DataFrame inputs that the source still holds (it was never trained) come along
        for name in store.list_dir(source.paths.input_dir):
            store.write_bytes(
                f"{paths.input_dir}/{name}",
                store.read_bytes(f"{source.paths.input_dir}/{name}"),
                private=True,
            )
        state = new_state()
        if mode == "continue":
            artifact = source._state["artifact"]
            job_id = f"clone-{uuid.uuid4().hex[:12]}"
            store.copy_dir(source.paths.artifacts(artifact), paths.artifacts(job_id))
            tables = []
            for table in source._state.get("tables") or []:
                item = dict(table)
                if item.get("report"):
                    item["report"] = item["report"].replace(
                        source.paths.artifacts(artifact), paths.artifacts(job_id)
                    )
                tables.append(item)
            state.update(status=ProgressStatus.CONTINUE.value, job_id=job_id, artifact=job_id, tables=tables)
        write_state(store, paths, state)
        record = {
            **{k: v for k, v in source._meta.items() if k not in ("imported_from",)},
            "id": gid,
            "name": f"Clone - {source.name}",
            "created_at": now(),
            "cloned_from": source.id,
        }
        store.write_json(paths.record, record)
        return Generator(self.client, record, state)


class SyntheticDatasets:
    def __init__(self, client: SynthClient):
        self.client = client

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
        self, generator: Generator, config: Any, size: Any, seed: Any, name: str | None
    ) -> SyntheticDataset:
        from synth_dagster.sdk.synthetic import build_config

        launcher.ensure_not_bootstrapping()
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
            "id": sid,
            "name": name or cfg.name or f"{generator.name or 'synthetic'} - synthetic {sid[:8]}",
            "description": cfg.description,
            "generator_id": generator.id,
            "generator_tables": [t.name for t in generator.tables],
            "created_at": now(),
            "config": cfg.model_dump(mode="json"),
            "tables": [{"name": t.name} for t in generator.tables],
        }
        store.write_json(paths.record, record)
        return SyntheticDataset(self.client, record, state)

    def get(self, synthetic_dataset_id: str) -> SyntheticDataset:
        record, state = _get(self.client, GENERATION, synthetic_dataset_id)
        return SyntheticDataset(self.client, record, state)

    def list(
        self,
        offset: int = 0,
        limit: int | None = None,
        status: str | Iterable[str] | None = None,
        search_term: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> Iterator[SyntheticDataset]:
        """Synthetic datasets, newest first; `status` filters on generation status."""
        filt = Filter(search_term, created_from, created_to, parse_statuses(status))
        items = _records(self.client, GENERATION, filt)
        return page((SyntheticDataset(self.client, r, s) for r, s in items), offset, limit)
