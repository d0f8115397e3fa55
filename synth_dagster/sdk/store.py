"""The store: generators, synthetic datasets and connectors under one root folder or fsspec URL.

Layout (ids are UUIDs; `<job>` is the id of the job that produced an artifact)::

    <root>/generators/<id>/record.json              name, description, config (no rows, no secrets)
    <root>/generators/<id>/status.json              training status, active job, tables, metrics
    <root>/generators/<id>/progress.json            JobProgress of the latest job
    <root>/generators/<id>/logs/<job>.log           log of each job
    <root>/generators/<id>/artifacts/<job>/model/   the engine workspace
    <root>/generators/<id>/artifacts/<job>/reports/ HTML model reports
    <root>/generators/<id>/qa/<job>/*.parquet       private reference rows for data reports; never exported
    <root>/generators/<id>/job/input/*.parquet      private training frames; deleted after each job
    <root>/generators/<id>/job/worker.json          pid, host and heartbeat of the running worker
    <root>/generators/<id>/job/cancel-<job>         cancel flag
    <root>/synthetic-datasets/<id>/...              the same shape; artifacts/<job>/data/<table>.parquet
    <root>/connectors/<id>/record.json              connector config without secrets
    <root>/connectors/<id>/secrets.json             secrets and SSL material (0600 on local disks)

Writes are atomic: a file goes to a temporary name and is renamed (on object stores it is written in
one PUT). A job writes its artifacts under a fresh `<job>` folder and publishes them by writing
status.json last, so readers see either the previous artifacts or the new ones, never a mix.
"""

from __future__ import annotations

import contextlib
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
ROOT_ENV = "SYNTH_DAGSTER_LOCAL_DIR"
# Names of half-written files and folders; never read, removed by `sweep`.
TEMP_MARKS = (".tmp-", ".staging-", ".old-", ".partial-")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


class Store:
    def __init__(
        self, root: str | os.PathLike[str] | None = None, storage_options: dict[str, Any] | None = None
    ):
        root = str(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = fsspec.core.url_to_fs(root, **self.storage_options)
        self.root = self.root.rstrip("/") or "/"
        self.url = root
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self._file_mode = 0o666 & ~_umask()
        self.fs.makedirs(self.root, exist_ok=True)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def _fresh(self, target: str) -> None:
        # why: fsspec object-store clients cache listings; other processes write to the same store
        if not self.is_local:
            self.fs.invalidate_cache(target)

    # ---------------------------------------------------------------- files
    def write_json(self, relative: str, obj: Any, private: bool = False) -> None:
        self.write_bytes(relative, json.dumps(obj, indent=1, default=str).encode(), private=private)

    def read_json(self, relative: str) -> Any:
        return json.loads(self.read_bytes(relative))

    def read_json_or_none(self, relative: str) -> Any:
        try:
            return self.read_json(relative)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def read_bytes(self, relative: str) -> bytes:
        target = self.path(relative)
        if self.is_local:
            with open(target, "rb") as fh:
                return fh.read()
        self._fresh(target)
        # why cat_file: one GET; open() checks the ETag between requests and fails on a concurrent write
        return self.fs.cat_file(target)

    def write_bytes(self, relative: str, data: bytes, private: bool = False) -> None:
        """Write a file atomically; `private` files are readable by their owner only (local disks)."""
        target = self.path(relative)
        if self.is_local:
            self._makedirs(posixpath.dirname(target), private)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=posixpath.dirname(target))
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o600 if private else self._file_mode)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:
            self.fs.pipe_file(target, data)  # one PUT: readers see the old or the new object

    @staticmethod
    def _makedirs(directory: str, private: bool) -> None:
        """A folder; a private one (and its parent, e.g. `job/input`) is open to its owner only."""
        os.makedirs(directory, exist_ok=True)
        if private:
            for folder in (posixpath.dirname(directory), directory):
                os.chmod(folder, 0o700)

    def create_exclusive(self, relative: str, data: bytes) -> bool:
        """Create a file only if it does not exist yet; False if another writer got there first.

        Exact on local disks (O_EXCL). On object stores: existence check, write, read back -- two
        writers racing within the same instant may both see their own write; good enough for the
        start of a job, which is also guarded by its status.
        """
        target = self.path(relative)
        if self.is_local:
            os.makedirs(posixpath.dirname(target), exist_ok=True)
            try:
                fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, self._file_mode)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return True
        if self.exists(relative):
            return False
        self.fs.pipe_file(target, data)
        return self.read_bytes(relative) == data

    def exists(self, relative: str) -> bool:
        target = self.path(relative)
        self._fresh(target)
        return self.fs.exists(target)

    def list_dir(self, relative: str) -> list[str]:
        """Names directly below a folder (empty if it does not exist), without half-written entries."""
        base = self.path(relative)
        self._fresh(base)
        if not self.fs.exists(base):
            return []
        names = (posixpath.basename(p.rstrip("/")) for p in self.fs.ls(base, detail=False))
        return sorted(n for n in names if n and not any(m in n for m in TEMP_MARKS))

    def find(self, relative: str) -> list[str]:
        """All files below a folder, as paths relative to that folder."""
        base = self.path(relative).rstrip("/")
        self._fresh(base)
        if not self.fs.exists(base):
            return []
        out = []
        for p in self.fs.find(base):
            rel = posixpath.relpath(p.rstrip("/"), base) if self.is_local else p[len(base) + 1 :]
            if rel and not any(m in rel for m in TEMP_MARKS):
                out.append(rel)
        return sorted(out)

    def delete(self, relative: str) -> None:
        target = self.path(relative)
        self._fresh(target)
        if self.is_local:
            if os.path.isdir(target):
                # why: rename first so that readers never see a half-deleted folder
                doomed = f"{target}.old-{uuid.uuid4().hex[:8]}"
                try:
                    os.rename(target, doomed)
                except FileNotFoundError:
                    return
                shutil.rmtree(doomed, ignore_errors=True)
            elif os.path.exists(target):
                with contextlib.suppress(OSError):
                    os.unlink(target)
            return
        if self.fs.exists(target):
            with contextlib.suppress(OSError):
                self.fs.rm(target, recursive=True)

    def sweep(self, relative: str) -> None:
        """Remove leftovers of interrupted writes (temporary files and staging folders) below a folder."""
        base = self.path(relative)
        if not self.is_local or not os.path.isdir(base):
            return  # object stores write in one PUT: nothing half-written to remove
        for dirpath, dirnames, filenames in os.walk(base):
            for name in list(dirnames):
                if any(m in name for m in TEMP_MARKS):
                    shutil.rmtree(os.path.join(dirpath, name), ignore_errors=True)
                    dirnames.remove(name)
            for name in filenames:
                if any(m in name for m in TEMP_MARKS):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(dirpath, name))

    # -------------------------------------------------------------- folders
    def put_dir(self, local: Path, relative: str, private: bool = False) -> None:
        """Copy a local folder into the store at `relative` (which should be a fresh path).

        Local stores: staged copy then one rename, so the folder appears complete or not at all.
        Object stores: file by file; callers publish the folder only after this returns.
        `private` folders and files (training and holdout rows) are open to their owner only.
        """
        target = self.path(relative)
        if self.is_local:
            self._makedirs(posixpath.dirname(target), private)
            staging = f"{target}.staging-{uuid.uuid4().hex[:8]}"
            shutil.copytree(local, staging)
            if private:
                _restrict(staging)
            old = f"{target}.old-{uuid.uuid4().hex[:8]}"
            if os.path.exists(target):
                os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old, ignore_errors=True)
            return
        for file in sorted(p for p in Path(local).rglob("*") if p.is_file()):
            self.fs.put_file(str(file), posixpath.join(target, file.relative_to(local).as_posix()))

    def get_dir(self, relative: str, local: Path) -> Path:
        """A local copy of a stored folder (the folder itself on a local store)."""
        source = self.path(relative)
        if self.is_local:
            if not os.path.isdir(source):
                raise FileNotFoundError(source)
            return Path(source)
        if not local.exists():
            files = self.find(relative)
            if not files:
                raise FileNotFoundError(source)
            staging = local.with_name(local.name + f".partial-{uuid.uuid4().hex[:8]}")
            for rel in files:
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(posixpath.join(source, rel), str(dest))
            try:
                staging.rename(local)
            except OSError:  # another thread or process filled the cache first
                shutil.rmtree(staging, ignore_errors=True)
        return local

    def copy_dir(self, source: str, target: str) -> None:
        """Copy a folder within the store (used by clone)."""
        if self.is_local:
            self.put_dir(Path(self.path(source)), target)
            return
        for rel in self.find(source):
            self.fs.copy(self.path(source, rel), self.path(target, rel))

    def local_cache(self, *parts: str) -> Path:
        base = (
            Path(tempfile.gettempdir()) / "synth_dagster_cache" / uuid.uuid5(uuid.NAMESPACE_URL, self.url).hex
        )
        return base.joinpath(*parts)


def _restrict(folder: str) -> None:
    """Owner-only permissions on a folder tree: 0700 folders, 0600 files."""
    os.chmod(folder, 0o700)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o700)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o600)
