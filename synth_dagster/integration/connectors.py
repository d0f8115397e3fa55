"""Connectors on the Dagster side: a resource and an IO manager.

`ConnectorResource` holds a ConnectorConfig (type, access_type, config, secrets, ssl) as Dagster
config. Pass secrets as `dagster.EnvVar("NAME")`: the value is then read when a run starts and the UI
shows only the variable's name.

`ConnectorIOManager` stores an asset's output (a DataFrame, or a dict of DataFrames for multi-table
outputs such as a synthetic dataset) at a connector location and loads it back for downstream
assets, with `dagster/row_count` and `dagster/column_schema` metadata.

Where an output goes:

- `metadata={"location": ...}` on the asset wins: a table (`schema.table`) or file
  (`bucket/path/file.parquet`) for a DataFrame; a schema or folder for a dict of DataFrames, whose
  tables then go to `schema.<table>` or `folder/<table>.parquet`.
- Otherwise the asset key names it, below `location_prefix`: `<prefix>.<asset>` for databases
  (`<prefix>.<asset>__<table>` for the tables of a dict) and `<prefix>/<asset>.parquet` for storage
  (`<prefix>/<asset>/<table>.parquet`).

Loading uses `read_data`, so the connector needs READ_DATA or WRITE_DATA (WRITE_DATA to store). A
READ_PROTECTED connector can still feed a generator: its asset calls
`ConnectorResource.read_training_data`, which never shows the rows to anyone.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import PrivateAttr

from synth_dagster.connectors import Connector, LocationNotFoundError, create_connector
from synth_dagster.connectors.storage.connector import file_format
from synth_dagster.domain.connectors import ConnectorConfig, ConnectorType

__all__ = ["ConnectorIOManager", "ConnectorResource", "table_metadata"]

TABLES_KEY = "synth_dagster/tables"


class ConnectorResource(dg.ConfigurableResource):
    """A database or storage connection (the reference's ConnectorConfig) as a Dagster resource.

    Example::

        ConnectorResource(
            type="POSTGRES",
            access_type="WRITE_DATA",
            config={"host": "db", "username": "etl", "database": "shop"},
            secrets={"password": dg.EnvVar("SHOP_DB_PASSWORD")},
        )
    """

    type: str
    access_type: str = "READ_PROTECTED"
    name: str | None = None
    config: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    ssl: dict[str, str] = {}

    _connector: Connector | None = PrivateAttr(default=None)

    def __repr__(self) -> str:
        # values of secrets and ssl never leave the process; only their keys are shown
        return (
            f"ConnectorResource(type={self.type!r}, access_type={self.access_type!r}, name={self.name!r}, "
            f"config={self.config!r}, secrets={sorted(self.secrets)}, ssl={sorted(self.ssl)})"
        )

    __str__ = __repr__

    def connector_config(self) -> ConnectorConfig:
        return ConnectorConfig(
            name=self.name,
            type=self.type,
            access_type=self.access_type,
            config=dict(self.config),
            secrets=dict(self.secrets),
            ssl=dict(self.ssl),
        )

    def get_connector(self) -> Connector:
        """The connector, created once per resource instance."""
        if self._connector is None:
            self._connector = create_connector(self.connector_config())
        return self._connector

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._connector is not None:
            self._connector.close()
            self._connector = None

    # thin delegation, so assets can call the resource directly

    def locations(self, prefix: str = "") -> list[str]:
        return self.get_connector().locations(prefix)

    def schema(self, location: str) -> list[dict[str, Any]]:
        return self.get_connector().schema(location)

    def read_data(self, location: str, limit: int | None = None, shuffle: bool = False) -> pd.DataFrame:
        return self.get_connector().read_data(location, limit=limit, shuffle=shuffle)

    def read_data_chunks(self, location: str, **kwargs: Any) -> Iterator[pd.DataFrame]:
        return self.get_connector().read_data_chunks(location, **kwargs)

    def read_training_data(
        self, location: str, limit: int | None = None, shuffle: bool = False
    ) -> pd.DataFrame:
        return self.get_connector().read_training_data(location, limit=limit, shuffle=shuffle)

    def write_data(
        self, data: pd.DataFrame | Iterable[pd.DataFrame] | None, location: str, if_exists: str = "fail"
    ) -> int:
        return self.get_connector().write_data(data, location, if_exists=if_exists)

    def delete_data(self, location: str) -> None:
        self.get_connector().delete_data(location)

    def query(self, sql: str) -> pd.DataFrame:
        return self.get_connector().query(sql)

    def test_connection(self) -> bool:
        return self.get_connector().test_connection()


def table_metadata(df: pd.DataFrame) -> dict[str, Any]:
    """`dagster/row_count` and `dagster/column_schema` for a frame."""
    columns = [
        dg.TableColumn(
            name=str(name),
            type=str(df[name].dtype),
            constraints=dg.TableColumnConstraints(nullable=bool(df[name].isna().any())),
        )
        for name in df.columns
    ]
    return {
        "dagster/row_count": dg.MetadataValue.int(len(df)),
        "dagster/column_schema": dg.MetadataValue.table_schema(dg.TableSchema(columns=columns)),
    }


class ConnectorIOManager(dg.ConfigurableIOManager):
    """Store asset outputs at connector locations and load them back.

    `if_exists` applies when an output is stored again: "replace" (default) swaps the old data for
    the new one once it is fully written, "append" adds rows, "fail" refuses.
    """

    connector: ConnectorResource
    location_prefix: str = ""
    if_exists: str = "replace"

    # -------------------------------------------------------------- locations

    def _is_storage(self) -> bool:
        return ConnectorType(self.connector.type).is_storage

    def _name(self, context: dg.OutputContext | dg.InputContext) -> str:
        if context.has_asset_partitions:
            raise dg.DagsterInvariantViolationError(
                "ConnectorIOManager does not support partitioned assets yet; use one location per asset"
            )
        if context.has_asset_key:
            return "__".join(context.asset_key.path)
        return context.get_identifier()[-1]

    def _explicit(self, metadata: Mapping[str, Any] | None) -> str | None:
        value = (metadata or {}).get("location")
        if value is None:
            return None
        return str(getattr(value, "value", value))

    def _join(self, prefix: str, name: str) -> str:
        if not prefix:
            return name
        return posixpath.join(prefix, name) if self._is_storage() else f"{prefix}.{name}"

    def frame_location(self, name: str, explicit: str | None) -> str:
        location = explicit or self._join(self.location_prefix, name)
        if self._is_storage() and file_format(location) is None:
            location += ".parquet"
        return location

    def table_location(self, name: str, table: str, explicit: str | None) -> str:
        if explicit:
            container, stem = explicit, table
        elif self._is_storage():
            container, stem = self._join(self.location_prefix, name), table
        else:
            container, stem = self.location_prefix, f"{name}__{table}"
        location = self._join(container, stem)
        return location + ".parquet" if self._is_storage() else location

    # -------------------------------------------------------------- store

    def handle_output(
        self, context: dg.OutputContext, obj: pd.DataFrame | Mapping[str, pd.DataFrame] | None
    ) -> None:
        if obj is None:
            return
        connector = self.connector.get_connector()
        name = self._name(context)
        explicit = self._explicit(context.definition_metadata)
        if isinstance(obj, pd.DataFrame):
            location = self.frame_location(name, explicit)
            connector.write_data(obj, location, if_exists=self.if_exists)
            context.add_output_metadata(
                {**table_metadata(obj), "location": dg.MetadataValue.text(location), **self._about()}
            )
            return
        if not isinstance(obj, Mapping) or not all(isinstance(v, pd.DataFrame) for v in obj.values()):
            raise dg.DagsterInvariantViolationError(
                f"ConnectorIOManager stores a DataFrame or a dict of DataFrames, got {type(obj).__name__}"
            )
        metadata: dict[str, Any] = {}
        total = 0
        for table, frame in obj.items():
            location = self.table_location(name, str(table), explicit)
            connector.write_data(frame, location, if_exists=self.if_exists)
            total += len(frame)
            for key, value in table_metadata(frame).items():
                metadata[f"{table}/{key.split('/')[-1]}"] = value
            metadata[f"{table}/location"] = dg.MetadataValue.text(location)
        metadata["dagster/row_count"] = dg.MetadataValue.int(total)
        metadata[TABLES_KEY] = dg.MetadataValue.json(list(map(str, obj)))
        context.add_output_metadata({**metadata, **self._about()})

    def _about(self) -> dict[str, Any]:
        return {"connector": dg.MetadataValue.text(f"{self.connector.type} ({self.connector.access_type})")}

    # -------------------------------------------------------------- load

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | dict[str, pd.DataFrame]:
        upstream = context.upstream_output
        if upstream is None:
            raise dg.DagsterInvariantViolationError(
                "ConnectorIOManager loads only outputs of upstream assets"
            )
        connector = self.connector.get_connector()
        name = self._name(context)  # an input's asset key is the upstream asset's
        explicit = self._explicit(upstream.definition_metadata)
        tables = self._recorded_tables(context)
        if tables is None and _wants_dict(context):
            tables = self._discover_tables(connector, name, explicit)
        if tables is None:
            return connector.read_data(self.frame_location(name, explicit))
        return {table: connector.read_data(self.table_location(name, table, explicit)) for table in tables}

    def _recorded_tables(self, context: dg.InputContext) -> list[str] | None:
        """The table names the last materialization stored, if it stored a dict."""
        if not context.has_asset_key:
            return None
        try:
            event = context.instance.get_latest_materialization_event(context.asset_key)
        except Exception:  # no instance in direct invocations
            return None
        materialization = getattr(event, "asset_materialization", None) if event else None
        value = (materialization.metadata if materialization else {}).get(TABLES_KEY)
        if value is None:
            return None
        data = getattr(value, "data", getattr(value, "value", value))
        return [str(t) for t in (json.loads(data) if isinstance(data, str) else data)]

    def _discover_tables(self, connector: Connector, name: str, explicit: str | None) -> list[str]:
        if explicit:
            container, prefix = explicit, ""
        elif self._is_storage():
            container, prefix = self._join(self.location_prefix, name), ""
        else:
            container, prefix = self.location_prefix, f"{name}__"
        try:
            entries = connector.locations(container)
        except LocationNotFoundError:
            return []
        tables = []
        for entry in entries:
            if entry.endswith("/"):
                continue  # a sub-folder, not a table
            if self._is_storage():
                leaf = posixpath.splitext(posixpath.basename(entry))[0]  # folder/customers.parquet
            else:
                leaf = entry.rsplit(".", 1)[-1]  # schema.asset__customers
            if leaf.startswith(prefix):
                tables.append(leaf[len(prefix) :])
        return sorted(tables)


def _wants_dict(context: dg.InputContext) -> bool:
    typing_type = getattr(context.dagster_type, "typing_type", None)
    origin = getattr(typing_type, "__origin__", typing_type)
    return isinstance(origin, type) and issubclass(origin, Mapping)
