"""Connectors kept in the store: the reference's Connector resource over synth_dagster.connectors.

The connector's `config` lives in `record.json`; its secrets and SSL material live apart in
`secrets.json` (owner-only on local disks), so listings, reprs and exports never contain them.
Data methods build a fresh `synth_dagster.connectors` connector for each call, which enforces the
access type.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from synth_dagster.connectors import Connector as _DataConnector
from synth_dagster.connectors import create_connector
from synth_dagster.domain.connectors import ConnectorAccessType, ConnectorConfig, ConnectorType
from synth_dagster.domain.errors import parse
from synth_dagster.sdk.errors import NotFoundError
from synth_dagster.sdk.jobs import now
from synth_dagster.sdk.listing import Filter, page
from synth_dagster.sdk.store import Store

if TYPE_CHECKING:
    from synth_dagster.sdk.client import SynthClient

FOLDER = "connectors"
MASK = "***"


def _record_path(cid: str) -> str:
    return f"{FOLDER}/{cid}/record.json"


def _secrets_path(cid: str) -> str:
    return f"{FOLDER}/{cid}/secrets.json"


def load_connector_config(store: Store, connector_id: str) -> ConnectorConfig:
    """The full ConnectorConfig (with secrets) of a stored connector; for the worker and data methods."""
    record = store.read_json_or_none(_record_path(connector_id))
    if record is None:
        raise NotFoundError(
            f"connector {connector_id!r} does not exist in the store {store.url}; "
            "create it with client.connect(config) and use its id"
        )
    secret = store.read_json_or_none(_secrets_path(connector_id)) or {}
    return ConnectorConfig(
        name=record.get("name"),
        description=record.get("description"),
        type=record["type"],
        access_type=record["access_type"],
        config=record.get("config") or {},
        secrets=secret.get("secrets") or {},
        ssl=secret.get("ssl") or {},
    )


def _as_config(config: ConnectorConfig | dict[str, Any]) -> ConnectorConfig:
    return (
        config if isinstance(config, ConnectorConfig) else parse(ConnectorConfig, config, "connector config")
    )


def _save(store: Store, cid: str, config: ConnectorConfig, created_at: str) -> dict[str, Any]:
    record = {
        "id": cid,
        "name": config.name,
        "description": config.description,
        "type": config.type.value,
        "access_type": config.access_type.value,
        "config": config.config,
        "created_at": created_at,
    }
    # secrets first: a record that is visible can always be used
    store.write_json(
        _secrets_path(cid), {"secrets": config.secret_values(), "ssl": config.ssl_values()}, private=True
    )
    store.write_json(_record_path(cid), record)
    return record


class Connector:
    """A stored connection to a data source or destination (secrets are never shown)."""

    def __init__(self, client: SynthClient, record: dict[str, Any]):
        self.client = client
        self._record = record

    # ------------------------------------------------------------- properties
    @property
    def id(self) -> str:
        return self._record["id"]

    @property
    def name(self) -> str | None:
        return self._record.get("name")

    @property
    def description(self) -> str | None:
        return self._record.get("description")

    @property
    def type(self) -> ConnectorType:
        return ConnectorType(self._record["type"])

    @property
    def access_type(self) -> ConnectorAccessType:
        return ConnectorAccessType(self._record["access_type"])

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._record.get("config") or {})

    @property
    def secrets(self) -> dict[str, str]:
        """The secret keys with masked values."""
        return dict.fromkeys(self._secret_keys("secrets"), MASK)

    @property
    def ssl(self) -> dict[str, str]:
        return dict.fromkeys(self._secret_keys("ssl"), MASK)

    def _secret_keys(self, section: str) -> list[str]:
        data = self.client.store.read_json_or_none(_secrets_path(self.id)) or {}
        return sorted((data.get(section) or {}).keys())

    @property
    def created_at(self) -> str | None:
        return self._record.get("created_at")

    def __repr__(self) -> str:
        return (
            f"Connector(id={self.id!r}, name={self.name!r}, type={self.type.value}, "
            f"access_type={self.access_type.value})"
        )

    # ------------------------------------------------------------ management
    def reload(self) -> Connector:
        record = self.client.store.read_json_or_none(_record_path(self.id))
        if record is None:
            raise NotFoundError(f"connector {self.id} was deleted")
        self._record = record
        return self

    def update(
        self,
        name: str | None = None,
        description: str | None = None,
        access_type: ConnectorAccessType | str | None = None,
        config: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        ssl: dict[str, str] | None = None,
        test_connection: bool = True,
    ) -> Connector:
        """Change fields; `config`, `secrets` and `ssl` are merged into the current values."""
        current = load_connector_config(self.client.store, self.id)
        updated = ConnectorConfig(
            name=name if name is not None else current.name,
            description=description if description is not None else current.description,
            type=current.type,
            access_type=access_type if access_type is not None else current.access_type,
            config={**current.config, **(config or {})},
            secrets={**current.secret_values(), **(secrets or {})},
            ssl={**current.ssl_values(), **(ssl or {})},
        )
        if test_connection:
            _test(updated)
        self._record = _save(self.client.store, self.id, updated, self.created_at or now())
        return self

    def delete(self) -> None:
        self.client.store.delete(f"{FOLDER}/{self.id}")

    # ------------------------------------------------------------------ data
    def _connector(self) -> _DataConnector:
        return create_connector(load_connector_config(self.client.store, self.id))

    def locations(self, prefix: str = "") -> list[str]:
        with self._connector() as c:
            return c.locations(prefix)

    def schema(self, location: str) -> list[dict[str, Any]]:
        with self._connector() as c:
            return c.schema(location)

    def read_data(
        self, location: str, limit: int | None = None, shuffle: bool | None = False
    ) -> pd.DataFrame:
        with self._connector() as c:
            return c.read_data(location, limit=limit, shuffle=bool(shuffle))

    def write_data(self, data: pd.DataFrame | None, location: str, if_exists: str = "fail") -> None:
        with self._connector() as c:
            c.write_data(data, location, if_exists=if_exists)

    def delete_data(self, location: str) -> None:
        with self._connector() as c:
            c.delete_data(location)

    def query(self, sql: str) -> pd.DataFrame:
        with self._connector() as c:
            return c.query(sql)


def _test(config: ConnectorConfig) -> None:
    with create_connector(config) as c:
        c.test_connection()


class Connectors:
    """`client.connectors`: create, get and list stored connectors."""

    def __init__(self, client: SynthClient):
        self.client = client

    def create(self, config: ConnectorConfig | dict[str, Any], test_connection: bool = True) -> Connector:
        cfg = _as_config(config)
        if test_connection:
            _test(cfg)
        cid = str(uuid.uuid4())
        return Connector(self.client, _save(self.client.store, cid, cfg, now()))

    def get(self, connector_id: str) -> Connector:
        record = self.client.store.read_json_or_none(_record_path(connector_id))
        if record is None:
            raise NotFoundError(
                f"no connector with id {connector_id!r} in {self.client.store.url}; "
                "list them with client.connectors.list()"
            )
        return Connector(self.client, record)

    def list(
        self,
        offset: int = 0,
        limit: int | None = None,
        search_term: str | None = None,
        access_type: str | Iterable[str] | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
    ) -> Iterator[Connector]:
        """Stored connectors, newest first."""
        wanted = None
        if access_type is not None:
            items = [access_type] if isinstance(access_type, str) else builtins.list(access_type)
            wanted = {ConnectorAccessType(a).value for a in items}
        filt = Filter(search_term, created_from, created_to)
        records = []
        for cid in self.client.store.list_dir(FOLDER):
            record = self.client.store.read_json_or_none(_record_path(cid))
            if record is None or not filt.matches(record):
                continue
            if wanted is not None and record.get("access_type") not in wanted:
                continue
            records.append(record)
        records.sort(key=lambda r: r.get("created_at") or "", reverse=True)
        return page((Connector(self.client, r) for r in records), offset, limit)
