"""The store: generators, synthetic datasets and connectors under one root folder or fsspec URL.

Layout::

    <root>/generators/<id>/record.json          metadata, status, metrics
    <root>/generators/<id>/model/...            the engine workspace
    <root>/generators/<id>/reports/*.html
    <root>/synthetic-datasets/<id>/record.json
    <root>/synthetic-datasets/<id>/data/<table>.parquet

Writes are atomic: JSON goes to a temporary name and is renamed (or, on object stores, written in
one PUT); model folders are uploaded before the record that points at them.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

DEFAULT_ROOT = "~/.synth_dagster"


class Store:
    def __init__(
        self, root: str | os.PathLike[str] | None = None, storage_options: dict[str, Any] | None = None
    ):
        root = str(root or DEFAULT_ROOT)
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.fs, self.root = fsspec.core.url_to_fs(root, **(storage_options or {}))
        self.url = root
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self.fs.makedirs(self.root, exist_ok=True)

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    # ---------------------------------------------------------------- JSON
    def write_json(self, relative: str, obj: Any) -> None:
        self.write_bytes(relative, json.dumps(obj, indent=1, default=str).encode())

    def read_json(self, relative: str) -> Any:
        with self.fs.open(self.path(relative), "rb") as fh:
            return json.loads(fh.read())

    def write_bytes(self, relative: str, data: bytes) -> None:
        target = self.path(relative)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        if self.is_local:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=posixpath.dirname(target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        else:
            self.fs.pipe_file(target, data)  # one PUT: readers see the old or the new object

    def exists(self, relative: str) -> bool:
        return self.fs.exists(self.path(relative))

    def list_dir(self, relative: str) -> list[str]:
        base = self.path(relative)
        if not self.fs.exists(base):
            return []
        return sorted(posixpath.basename(p.rstrip("/")) for p in self.fs.ls(base, detail=False))

    def delete(self, relative: str) -> None:
        target = self.path(relative)
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    # -------------------------------------------------------------- folders
    def put_dir(self, local: Path, relative: str) -> None:
        """Replace a folder in the store with a local one (staged, then swapped)."""
        target = self.path(relative)
        if self.is_local:
            staging = f"{target}.staging-{uuid.uuid4().hex[:8]}"
            shutil.copytree(local, staging)
            old = f"{target}.old-{uuid.uuid4().hex[:8]}"
            if os.path.exists(target):
                os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
            return
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)
        self.fs.put(str(local), target, recursive=True)

    def get_dir(self, relative: str, local: Path) -> Path:
        """A local copy of a stored folder (the folder itself on a local store)."""
        source = self.path(relative)
        if self.is_local:
            return Path(source)
        if not local.exists():
            staging = local.with_name(local.name + f".partial-{uuid.uuid4().hex[:8]}")
            self.fs.get(source.rstrip("/") + "/", str(staging), recursive=True)
            staging.rename(local)
        return local

    def local_cache(self, *parts: str) -> Path:
        base = (
            Path(tempfile.gettempdir()) / "synth_dagster_cache" / uuid.uuid5(uuid.NAMESPACE_URL, self.url).hex
        )
        return base.joinpath(*parts)
