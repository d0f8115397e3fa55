"""Export a trained generator to a ZIP file and import it into any store.

The ZIP holds an allow-list of files: the manifest (config, metadata, and the size and SHA-256 of
every other member), `statistics.json` (table summaries and metrics), the engine's model folder and
the HTML model reports. Never training rows (the store's private `qa/` and `job/` folders), never
logs, never connector secrets.

An import trusts nothing in the file: the ZIP is checked by `archive` (names, sizes, ratios,
listing, hashes), the JSON members by their schemas, and the model folder by loading every part of
it (`engine.workspace.check_workspace`), all before anything is written to the store. No member is
ever unpickled.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synth_dagster._version import __version__
from synth_dagster.domain import GeneratorConfig, ModelMetrics, ProgressStatus
from synth_dagster.domain.names import path_component
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.workspace import check_workspace
from synth_dagster.sdk import archive as zipcheck
from synth_dagster.sdk.errors import InvalidFileError, JobStateError, MissingFileError
from synth_dagster.sdk.frames import save_path, shown
from synth_dagster.sdk.jobs import TRAINING, Paths, new_state, now, write_state
from synth_dagster.sdk.store import Store

if TYPE_CHECKING:  # annotations only: records.py imports this module
    from synth_dagster.sdk.records import Generator

MANIFEST = "synth_dagster_generator.json"
STATISTICS = "statistics.json"
FORMAT = 2  # 2: the manifest lists every member with its size and SHA-256
_TABLE_KEYS = (
    "name",
    "total_rows",
    "columns",
    "primary_key",
    "encodings",
    "summary",
    "tabular_model_metrics",
)


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Member(_Schema):
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _GeneratorInfo(_Schema):
    name: str | None = None
    description: str | None = None
    created_at: str | None = None
    training_time: str | None = None
    config: dict[str, Any]


class _Manifest(_Schema):
    format: int
    synth_dagster_version: str
    exported_at: str
    generator: _GeneratorInfo
    files: dict[str, _Member]


class _TableStatistics(_Schema):
    name: str
    total_rows: int | None = Field(None, ge=0)
    columns: list[str] | None = None
    primary_key: str | None = None
    encodings: dict[str, str] | None = None
    summary: dict[str, Any] | None = None
    tabular_model_metrics: ModelMetrics | None = None
    report: str | None = None


class _Statistics(_Schema):
    tables: list[_TableStatistics]


def export_generator(generator: Generator, file_path: str | os.PathLike[str] | None) -> Path:
    generator._refresh()
    if generator.training_status is not ProgressStatus.DONE:
        raise JobStateError(
            f"generator {generator.id} is {generator.training_status.value}; only DONE generators can be "
            "exported (train it first)"
        )
    store = generator.store
    state = generator._state
    artifacts = generator.paths.artifacts(state["artifact"])
    members: dict[str, bytes] = {}
    tables = []
    for table in state.get("tables") or []:
        item = {k: table.get(k) for k in _TABLE_KEYS}
        item["report"] = posixpath.basename(table["report"]) if table.get("report") else None
        tables.append(item)
        if item["report"]:
            members[f"reports/{item['report']}"] = store.read_bytes(table["report"])
    members[STATISTICS] = json.dumps({"tables": tables}, indent=1, default=str).encode()
    for rel in store.find(f"{artifacts}/model"):
        members[f"model/{rel}"] = store.read_bytes(f"{artifacts}/model/{rel}")
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
        "files": {n: {"size": len(b), "sha256": zipcheck.sha256_of(b)} for n, b in sorted(members.items())},
    }
    name = path_component(generator.name or "generator", "generator name").replace(" ", "-")
    target = save_path(file_path, f"{name}-{generator.id[:8]}.zip")
    tmp = target.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{target.name}")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr(MANIFEST, json.dumps(manifest, indent=1, default=str))
            for member, data in members.items():
                out.writestr(member, data)
        os.replace(tmp, target)  # a reader never sees half a ZIP
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _fetch(file_path: str | os.PathLike[str], store: Store, local: Path) -> None:
    """The exported file at a path or URL, copied to `local` (bounded in size)."""
    text = str(file_path)
    what = f"the generator file {_shown(text)}"
    if text.startswith(("http://", "https://")):
        with urllib.request.urlopen(text, timeout=60) as response:  # noqa: S310 - user-given URL
            zipcheck.bounded_copy(response, local, what)
        return
    if "://" in text:
        import fsspec

        protocol = text.split("://", 1)[0]
        protocols = store.fs.protocol if isinstance(store.fs.protocol, tuple) else (store.fs.protocol,)
        # same kind of storage as the store: reuse its options (endpoint, keys)
        opener = store.fs.open(text, "rb") if protocol in protocols else fsspec.open(text, "rb")
        try:
            with opener as fh:
                zipcheck.bounded_copy(fh, local, what)
        except FileNotFoundError:
            raise MissingFileError(
                f"no generator file at {_shown(text)}; give the URL of an exported ZIP"
            ) from None
        return
    path = Path(text).expanduser()
    if not path.is_file():
        raise MissingFileError(
            f"no generator file at {_shown(text)}; give the path or URL of an exported ZIP"
        )
    with open(path, "rb") as fh:
        zipcheck.bounded_copy(fh, local, what)


def _shown(text: str) -> str:
    """A user-given path or URL for a message: without a query string (tokens), and short."""
    return shown(text.split("?")[0], 120)


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidFileError(f"{what} is not JSON ({exc}); export the generator again") from None


def _validated(value: Any, schema: type[_Schema], what: str) -> Any:
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise InvalidFileError(f"{what} is not valid ({detail}); export the generator again") from None


def _read_manifest(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], what: str) -> _Manifest:
    if MANIFEST not in members:
        raise InvalidFileError(
            f"{what} is not a synth_dagster generator export (no {MANIFEST}); "
            "give a file made by Generator.export_to_file()"
        )
    raw = _json(zipcheck.read_small(archive, members[MANIFEST], what), f"{what}: {MANIFEST}")
    version = raw.get("format") if isinstance(raw, dict) else None
    if version != FORMAT:
        hint = (
            "it predates integrity checks; export it again with this version"
            if version == 1
            else "upgrade synth_dagster"
        )
        raise InvalidFileError(
            f"generator export format {version!r} is not supported (expected {FORMAT}); {hint}"
        )
    return _validated(raw, _Manifest, f"{what}: {MANIFEST}")


def _unpack(archive: zipfile.ZipFile, what: str, root: Path) -> tuple[_Manifest, list[dict[str, Any]]]:
    """Every check of the archive, its members unpacked below `root`; nothing is stored yet."""
    members = zipcheck.checked_members(archive, what)
    manifest = _read_manifest(archive, members, what)
    listed = {name: (m.size, m.sha256) for name, m in manifest.files.items()}
    unexpected = [n for n in listed if n != STATISTICS and n.split("/")[0] not in ("model", "reports")]
    if unexpected:
        raise InvalidFileError(f"{what} lists files an export never holds ({unexpected[:5]}); refusing it")
    zipcheck.check_listing(members, listed, MANIFEST, what)
    zipcheck.extract_verified(archive, members, listed, root, what)
    raw = _json((root / STATISTICS).read_bytes(), f"{what}: {STATISTICS}") if STATISTICS in listed else {}
    statistics = _validated(raw or {"tables": []}, _Statistics, f"{what}: {STATISTICS}")
    for table in statistics.tables:
        if table.report and f"reports/{table.report}" not in listed:
            raise InvalidFileError(f"{what}: table {table.name!r} names a report the file does not hold")
    try:
        GeneratorConfig.model_validate(manifest.generator.config)  # fails early on a foreign config
        check_workspace(root / "model")
    except (EngineInputError, ValueError) as exc:
        raise InvalidFileError(f"{what}: {str(exc)[:500]}") from None
    return manifest, list(raw.get("tables") or [])


def import_generator(
    store: Store, file_path: str | os.PathLike[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Import an exported generator as a new, DONE generator of `store`: its (record, state)."""
    what = f"the generator file {_shown(str(file_path))}"
    gid, job_id = str(uuid.uuid4()), f"import-{uuid.uuid4().hex[:12]}"
    paths = Paths(TRAINING, gid)
    artifacts = paths.artifacts(job_id)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / "export.zip"
        _fetch(file_path, store, local)
        try:
            archive = zipfile.ZipFile(local)
        except zipfile.BadZipFile:
            raise InvalidFileError(
                f"{what} is not a ZIP file; give a file made by export_to_file()"
            ) from None
        root = Path(tmp) / "unpacked"
        with archive:
            manifest, tables_stats = _unpack(archive, what, root)
        store.put_dir(root / "model", f"{artifacts}/model")
        if (root / "reports").is_dir():
            store.put_dir(root / "reports", f"{artifacts}/reports")
    info = manifest.generator
    tables = []
    for table in tables_stats:
        item = dict(table)
        item["report"] = f"{artifacts}/reports/{table['report']}" if table.get("report") else None
        tables.append(item)
    state = new_state()
    state.update(
        status=ProgressStatus.DONE.value,
        job_id=job_id,
        artifact=job_id,
        finished_at=info.training_time or now(),
        tables=tables,
    )
    write_state(store, paths, state)
    record = {
        "id": gid,
        "name": info.name,
        "description": info.description,
        "created_at": now(),
        "config": GeneratorConfig.model_validate(info.config).model_dump(mode="json"),
        "imported_from": str(file_path).split("?")[0],
    }
    store.write_json(paths.record, record)  # last: the generator appears complete
    return record, state
