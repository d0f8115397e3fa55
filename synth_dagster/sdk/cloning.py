"""Copies of a generator (`g.clone("new")` / `g.clone("continue")`) and the frames they train on."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pandas as pd

from synth_dagster.domain import ProgressStatus
from synth_dagster.engine.inputs import check_training_frame
from synth_dagster.sdk.errors import InvalidRequestError, JobStateError
from synth_dagster.sdk.frames import as_frame, write_frame
from synth_dagster.sdk.jobs.state import TRAINING, Paths, new_state, now, table_file, write_state

if TYPE_CHECKING:  # annotations only: records.py imports this module
    from synth_dagster.sdk.records import Generator


def _clone_inputs(source: Generator, data: Any) -> dict[str, pd.DataFrame]:
    """The frames a clone trains on: for every DataFrame table the source no longer holds (they are
    deleted after training), one given in `data` (a DataFrame for one such table, or {table: df})."""
    store = source.store
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
        example = "data=df" if len(names) == 1 else "data={" + ", ".join(f"{n!r}: df" for n in names) + "}"
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


def clone_record(
    source: Generator, training_status: str, data: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record, state) of a new generator copied from `source` (see `Generator.clone`), in its store."""
    mode = str(training_status).lower()
    if mode not in ("new", "continue"):
        raise InvalidRequestError(f"training_status must be 'new' or 'continue', got {training_status!r}")
    store = source.store
    source._refresh()
    if mode == "continue" and source.training_status is not ProgressStatus.DONE:
        raise JobStateError(
            f"generator {source.id} is {source.training_status.value}; clone('continue') needs a DONE "
            "generator (use clone('new') otherwise)"
        )
    frames = _clone_inputs(source, data)
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
    return record, state
