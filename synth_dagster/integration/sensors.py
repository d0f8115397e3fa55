"""A sensor factory: retrain (and regenerate) when the source data changed.

A *watch* reads a small fingerprint of the source: a connector location's row count, the maximum
of a timestamp column, a file's (or folder's) modification time and size, or the latest
materializations of upstream assets. The sensor keeps the last fingerprint as its cursor and
requests a run when the fingerprint differs.
"""

# No `from __future__ import annotations` here: Dagster reads the decorated functions' type
# hints (context, config, resources) at definition time and needs real types, not strings.

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec

from synth_dagster.integration.assets import SynthAssets

__all__ = [
    "AssetsMaterialized",
    "ConnectorMaxValue",
    "ConnectorRowCount",
    "FileModified",
    "SourceWatch",
    "build_source_sensor",
]


class SourceWatch(ABC):
    """Reads the fingerprint of a source; equal fingerprints mean "nothing changed"."""

    #: resource keys the watch reads from `context.resources`
    resource_keys: frozenset[str] = frozenset()

    @abstractmethod
    def fingerprint(self, context: dg.SensorEvaluationContext, resources: Mapping[str, Any]) -> Any:
        """A JSON-serializable value describing the source's current state."""

    @abstractmethod
    def describe(self) -> str: ...


def _connector(resources: Mapping[str, Any], key: str) -> Any:
    resource = resources.get(key)
    if resource is None:
        raise dg.DagsterInvariantViolationError(
            f"the sensor needs the resource {key!r} (a ConnectorResource)"
        )
    return resource


def _scalar(frame: Any) -> Any:
    value = frame.iloc[0, 0] if len(frame) and frame.shape[1] else None
    if value is None:
        return None
    return (
        value.isoformat()
        if hasattr(value, "isoformat")
        else (value.item() if hasattr(value, "item") else value)
    )


@dataclass(frozen=True)
class ConnectorRowCount(SourceWatch):
    """Rows at a connector location. SQL connectors count with `SELECT COUNT(*)` (give `sql` for
    another statement); other connectors, and READ_PROTECTED ones, count rows while streaming."""

    connector: str
    location: str
    sql: str | None = None

    @property
    def resource_keys(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({self.connector})

    def fingerprint(self, context: dg.SensorEvaluationContext, resources: Mapping[str, Any]) -> Any:
        resource = _connector(resources, self.connector)
        if self.sql or _can_query(resource):
            return {"rows": _scalar(resource.query(self.sql or f"SELECT COUNT(*) FROM {self.location}"))}
        connector = resource.get_connector()
        return {"rows": sum(len(chunk) for chunk in connector.read_training_chunks(self.location))}

    def describe(self) -> str:
        return f"row count of {self.location}"


@dataclass(frozen=True)
class ConnectorMaxValue(SourceWatch):
    """The maximum of a column (e.g. an `updated_at` timestamp) at a SQL connector location."""

    connector: str
    location: str
    column: str
    sql: str | None = None

    @property
    def resource_keys(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset({self.connector})

    def fingerprint(self, context: dg.SensorEvaluationContext, resources: Mapping[str, Any]) -> Any:
        resource = _connector(resources, self.connector)
        if self.sql or _can_query(resource):
            statement = self.sql or f"SELECT MAX({self.column}) FROM {self.location}"
            return {"max": _scalar(resource.query(statement))}
        connector = resource.get_connector()
        top = None
        for chunk in connector.read_training_chunks(self.location):
            if len(chunk) and chunk[self.column].notna().any():
                value = chunk[self.column].max()
                top = value if top is None else max(top, value)
        return {"max": None if top is None else str(top)}

    def describe(self) -> str:
        return f"max({self.column}) of {self.location}"


@dataclass(frozen=True)
class FileModified(SourceWatch):
    """Modification time and size of a file, or of the newest file below a folder (fsspec URL ok)."""

    path: str
    storage_options: dict[str, Any] | None = None

    def fingerprint(self, context: dg.SensorEvaluationContext, resources: Mapping[str, Any]) -> Any:
        url = self.path if "://" in self.path else str(Path(self.path).expanduser().resolve())
        fs, root = fsspec.core.url_to_fs(url, **(self.storage_options or {}))
        if not fs.exists(root):
            return {"missing": True}
        infos = [fs.info(root)] if not fs.isdir(root) else list(fs.find(root, detail=True).values())
        files = [i for i in infos if i.get("type") != "directory"]
        return {
            "files": len(files),
            "bytes": sum(int(i.get("size") or 0) for i in files),
            "mtime": max((_mtime(i) for i in files), default=None),
        }

    def describe(self) -> str:
        return f"modification time of {self.path}"


@dataclass(frozen=True)
class AssetsMaterialized(SourceWatch):
    """The latest materialization of each upstream asset (its event-log storage id)."""

    assets: Sequence[dg.AssetKey | str | Sequence[str]]

    def fingerprint(self, context: dg.SensorEvaluationContext, resources: Mapping[str, Any]) -> Any:
        out = {}
        for asset in self.assets:
            key = dg.AssetKey.from_coercible(asset)
            records = context.instance.fetch_materializations(key, limit=1).records
            out[key.to_user_string()] = records[0].storage_id if records else None
        return out

    def describe(self) -> str:
        return "materializations of " + ", ".join(
            dg.AssetKey.from_coercible(a).to_user_string() for a in self.assets
        )


def _mtime(info: dict[str, Any]) -> float | None:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if value is not None:
            return value.timestamp() if hasattr(value, "timestamp") else float(value)
    return None


def _can_query(resource: Any) -> bool:
    """SQL connectors with read access count and aggregate in the database."""
    from synth_dagster.domain.connectors import ConnectorAccessType, ConnectorType

    try:
        storage = ConnectorType(resource.type).is_storage
        readable = ConnectorAccessType(resource.access_type).can_read_data
    except (AttributeError, ValueError):
        return False
    return readable and not storage


def build_source_sensor(
    assets: SynthAssets,
    watch: SourceWatch,
    *,
    name: str | None = None,
    minimum_interval_seconds: int = 60,
    retrain_only: bool = False,
    request_on_first_tick: bool = False,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
    required_resource_keys: set[str] | None = None,
) -> dg.SensorDefinition:
    """A sensor that requests a run of the declaration's assets when `watch` sees new source data.

    The run retrains the generator and, in the same run, regenerates the synthetic tables and
    reports (`retrain_only=True` requests only the training assets; synthetic tables then follow if
    their automation condition is `AutomationCondition.eager()`). The first tick only records the
    source's state unless `request_on_first_tick=True`.
    """
    keys = assets.training_keys if retrain_only else assets.all_keys
    sensor_name = name or f"{assets.declaration.name}_source_sensor"

    @dg.sensor(
        name=sensor_name,
        target=dg.AssetSelection.assets(*keys),
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        required_resource_keys=set(watch.resource_keys) | set(required_resource_keys or ()),
        description=f"Retrain {assets.declaration.name} when the {watch.describe()} changes.",
    )
    def _sensor(context: dg.SensorEvaluationContext, **resources: Any) -> dg.SensorResult:
        # Dagster passes the required resources as keyword arguments
        state = json.dumps(watch.fingerprint(context, resources), sort_keys=True, default=str)
        if context.cursor == state:
            return dg.SensorResult(skip_reason=f"{watch.describe()} unchanged", cursor=state)
        if context.cursor is None and not request_on_first_tick:
            return dg.SensorResult(
                skip_reason=f"recorded the initial {watch.describe()}: {state}", cursor=state
            )
        # the previous state is part of the key: a source that returns to an old state still counts
        digest = hashlib.sha256(f"{context.cursor}->{state}".encode()).hexdigest()[:16]
        context.log.info(f"{watch.describe()} changed: {context.cursor} -> {state}")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{sensor_name}:{digest}",
                    asset_selection=keys,
                    tags={"synth_dagster/trigger": "source_changed"},
                )
            ],
            cursor=state,
        )

    return _sensor
