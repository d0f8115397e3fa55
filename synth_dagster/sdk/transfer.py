"""Export a trained generator to a ZIP file and import it into any store.

The ZIP holds an allow-list of files: the manifest (config and metadata), `statistics.json` (table
summaries and metrics), the engine's model folder and the HTML model reports. Never training rows
(the store's private `qa/` and `job/` folders), never logs, never connector secrets.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tempfile
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synth_dagster import __version__
from synth_dagster.domain import GeneratorConfig, ProgressStatus
from synth_dagster.sdk.errors import JobStateError
from synth_dagster.sdk.jobs import TRAINING, Paths, new_state, now, write_state
from synth_dagster.sdk.records import Generator, _target
from synth_dagster.sdk.store import Store

if TYPE_CHECKING:
    from synth_dagster.sdk.client import SynthClient

MANIFEST = "synth_dagster_generator.json"
STATISTICS = "statistics.json"
FORMAT = 1
_TABLE_KEYS = (
    "name",
    "total_rows",
    "columns",
    "primary_key",
    "encodings",
    "summary",
    "tabular_model_metrics",
)


def export_generator(generator: Generator, file_path: str | os.PathLike[str] | None) -> Path:
    generator._refresh()
    if generator.training_status is not ProgressStatus.DONE:
        raise JobStateError(
            f"generator {generator.id} is {generator.training_status.value}; only DONE generators can be "
            "exported (train it first)"
        )
    store = generator.client.store
    state = generator._state
    artifacts = generator.paths.artifacts(state["artifact"])
    tables = []
    for table in state.get("tables") or []:
        item = {k: table.get(k) for k in _TABLE_KEYS}
        item["report"] = posixpath.basename(table["report"]) if table.get("report") else None
        tables.append(item)
    manifest = {
        "format": FORMAT,
        "synth_dagster_version": __version__,
        "exported_at": now(),
        "generator": {
            "name": generator.name,
            "description": generator.description,
            "created_at": generator._meta.get("created_at"),
            "training_time": state.get("finished_at"),
            "config": generator._meta["config"],
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, default=str))
        archive.writestr(STATISTICS, json.dumps({"tables": tables}, indent=1, default=str))
        for rel in store.find(f"{artifacts}/model"):
            archive.writestr(f"model/{rel}", store.read_bytes(f"{artifacts}/model/{rel}"))
        for table in state.get("tables") or []:
            if table.get("report"):
                archive.writestr(
                    f"reports/{posixpath.basename(table['report'])}", store.read_bytes(table["report"])
                )
    safe_name = (generator.name or "generator").replace("/", "_").replace(" ", "-")
    target = _target(file_path, f"{safe_name}-{generator.id[:8]}.zip")
    target.write_bytes(buffer.getvalue())
    return target


def _read_source(file_path: str | os.PathLike[str], store: Store) -> bytes:
    text = str(file_path)
    if text.startswith(("http://", "https://")):
        with urllib.request.urlopen(text, timeout=60) as response:  # noqa: S310 - user-given URL
            return response.read()
    if "://" in text:
        import fsspec

        protocol = text.split("://", 1)[0]
        protocols = store.fs.protocol if isinstance(store.fs.protocol, tuple) else (store.fs.protocol,)
        if protocol in protocols:  # same kind of storage as the store: reuse its options (endpoint, keys)
            with store.fs.open(text, "rb") as fh:
                return fh.read()
        with fsspec.open(text, "rb") as fh:
            return fh.read()
    path = Path(text).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no generator file at {text!r}; give the path or URL of an exported ZIP")
    return path.read_bytes()


def _safe_members(archive: zipfile.ZipFile) -> list[str]:
    names = []
    for name in archive.namelist():
        if name.endswith("/"):
            continue
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "\\" in name:
            raise JobStateError(f"the generator file contains an unsafe path {name!r}; refusing to import it")
        if name not in (MANIFEST, STATISTICS) and parts[0] not in ("model", "reports"):
            continue  # ignore anything outside the allow-list
        names.append(name)
    return names


def import_generator(client: SynthClient, file_path: str | os.PathLike[str]) -> Generator:
    """Import an exported generator as a new, DONE generator of this client's store."""
    from synth_dagster.engine import TrainedGenerator

    payload = _read_source(file_path, client.store)
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise JobStateError(
            f"{str(file_path)!r} is not a ZIP file; give a file made by export_to_file()"
        ) from None
    with archive:
        names = _safe_members(archive)
        if MANIFEST not in names:
            raise JobStateError(
                f"{str(file_path)!r} is not a synth_dagster generator export (no {MANIFEST}); "
                "give a file made by Generator.export_to_file()"
            )
        manifest = json.loads(archive.read(MANIFEST))
        if manifest.get("format") != FORMAT:
            raise JobStateError(
                f"generator export format {manifest.get('format')!r} is not supported (expected {FORMAT}); "
                "upgrade synth_dagster"
            )
        statistics = json.loads(archive.read(STATISTICS)) if STATISTICS in names else {"tables": []}
        info = manifest["generator"]
        config = GeneratorConfig.model_validate(info["config"])  # fails early on a foreign config
        gid, job_id = str(uuid.uuid4()), f"import-{uuid.uuid4().hex[:12]}"
        paths = Paths(TRAINING, gid)
        artifacts = paths.artifacts(job_id)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for name in names:
                if name.startswith(("model/", "reports/")):
                    dest = root / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(archive.read(name))
            TrainedGenerator(root / "model")  # refuses a broken model before anything is stored
            client.store.put_dir(root / "model", f"{artifacts}/model")
            if (root / "reports").is_dir():
                client.store.put_dir(root / "reports", f"{artifacts}/reports")
    tables: list[dict[str, Any]] = []
    for table in statistics.get("tables") or []:
        item = dict(table)
        item["report"] = f"{artifacts}/reports/{table['report']}" if table.get("report") else None
        tables.append(item)
    state = new_state()
    state.update(
        status=ProgressStatus.DONE.value,
        job_id=job_id,
        artifact=job_id,
        finished_at=info.get("training_time") or now(),
        tables=tables,
    )
    write_state(client.store, paths, state)
    record = {
        "id": gid,
        "name": info.get("name"),
        "description": info.get("description"),
        "created_at": now(),
        "config": config.model_dump(mode="json"),
        "imported_from": str(file_path) if "://" not in str(file_path) else str(file_path).split("?")[0],
    }
    client.store.write_json(paths.record, record)  # last: the generator appears complete
    return Generator(client, record, state)
